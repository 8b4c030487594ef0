//! The unix-socket listener (PROTOCOL.md §7): the default control socket under `CODEX_HOME`
//! (0700 directory, 0600 socket), many newline-delimited connections sharing one server,
//! server requests, a stale socket replaced and a live one refused, Codex's WebSocket framing
//! on the same socket, and the socket removed at shutdown.

use std::os::unix::fs::PermissionsExt;

use app_server::network::{Bound, Listen, NetworkError, NetworkOptions, default_unix_socket};
use futures::{SinkExt, StreamExt};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role;

use crate::support::wire::{Client, Listener, server_request_round_trip};
use crate::support::{TIMEOUT, client, test_state};

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn the_default_control_socket_is_private_and_serves_many_connections() {
    let (state, home) = test_state();
    let server = Listener::start(Listen::Unix(None), state, NetworkOptions::default()).await;
    let expected = default_unix_socket(home.path());
    assert_eq!(server.bound, Bound::Unix(expected.clone()));
    assert!(expected.ends_with("app-server-control/app-server-control.sock"));
    assert_eq!(mode(expected.parent().unwrap()), 0o700, "directory 0700");
    assert_eq!(mode(&expected), 0o600, "socket 0600");

    let mut clients = Vec::new();
    for name in ["one", "two", "three"] {
        let mut client = Client::unix(server.path()).await;
        client.initialize(name).await;
        clients.push(client);
    }
    let started = clients[0]
        .result(
            "account/login/start",
            json!({"type": "apiKey", "apiKey": "sk-unix"}),
        )
        .await;
    assert_eq!(started, json!({"type": "apiKey"}));
    for client in &mut clients {
        let completed = client.next_message().await;
        assert_eq!(
            completed["method"], "account/login/completed",
            "{completed}"
        );
        let updated = client.next_message().await;
        assert_eq!(updated["method"], "account/updated", "{updated}");
        let status = client
            .result("getAuthStatus", json!({"includeToken": true}))
            .await;
        assert_eq!(status["authToken"], "sk-unix");
    }
    server.shutdown().await;
    assert!(!expected.exists(), "the socket file is removed at shutdown");
}

#[tokio::test]
async fn an_existing_default_directory_is_made_private() {
    let (state, home) = test_state();
    let dir = home.path().join("app-server-control");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let server = Listener::start(Listen::Unix(None), state, NetworkOptions::default()).await;
    assert_eq!(mode(&dir), 0o700);
    server.shutdown().await;
}

#[tokio::test]
async fn server_requests_work_over_the_unix_socket() {
    let (state, home) = test_state();
    let path = home.path().join("s.sock");
    let server = Listener::start(Listen::Unix(Some(path)), state, NetworkOptions::default()).await;
    let mut client = Client::unix(server.path()).await;
    server_request_round_trip(&mut client).await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_stale_socket_is_replaced_and_a_live_one_refused() {
    let (state, home) = test_state();
    let path = home.path().join("ctl.sock");
    // A socket file whose server is gone.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let server = Listener::start(
        Listen::Unix(Some(path.clone())),
        state.clone(),
        NetworkOptions::default(),
    )
    .await;
    let mut client = Client::unix(&path).await;
    client.initialize("after-stale").await;

    let second = app_server::network::serve(
        &Listen::Unix(Some(path.clone())),
        NetworkOptions::default(),
        state.clone(),
        std::future::pending(),
    )
    .await;
    match second {
        Err(err @ NetworkError::UnixInUse(_)) => {
            assert!(err.to_string().contains("already in use"), "{err}")
        }
        Err(other) => panic!("expected UnixInUse, got {other}"),
        Ok(_) => panic!("a live socket was replaced"),
    }
    // The first server still serves.
    let status = client.result("getAuthStatus", json!({})).await;
    assert_eq!(status["authMethod"], Value::Null);
    server.shutdown().await;

    let regular = home.path().join("file.sock");
    std::fs::write(&regular, "not a socket").unwrap();
    let refused = app_server::network::serve(
        &Listen::Unix(Some(regular.clone())),
        NetworkOptions::default(),
        state,
        std::future::pending(),
    )
    .await;
    assert!(matches!(refused, Err(NetworkError::UnixNotSocket(_))));
    assert_eq!(std::fs::read_to_string(&regular).unwrap(), "not a socket");
}

#[tokio::test]
async fn codex_websocket_framing_on_the_socket_is_served_too() {
    let (state, home) = test_state();
    let path = home.path().join("ws.sock");
    let server = Listener::start(Listen::Unix(Some(path)), state, NetworkOptions::default()).await;
    let stream = tokio::net::UnixStream::connect(server.path())
        .await
        .unwrap();
    let mut ws = WebSocketStream::from_raw_socket(stream, Role::Client, None).await;
    let request = json!({"id": 1, "method": "initialize", "params": client("codex-tui")});
    ws.send(Message::text(request.to_string())).await.unwrap();
    let answer = tokio::time::timeout(TIMEOUT, ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let answer: Value = serde_json::from_str(answer.to_text().unwrap()).unwrap();
    assert_eq!(answer["id"], 1);
    assert!(
        answer["result"]["userAgent"]
            .as_str()
            .unwrap()
            .starts_with("codex-tui/")
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_client_that_never_reads_is_disconnected_without_slowing_the_others() {
    use tokio::io::AsyncWriteExt;

    let (state, home) = test_state();
    let path = home.path().join("slow.sock");
    let server = Listener::start(Listen::Unix(Some(path)), state, NetworkOptions::default()).await;
    let mut fast = Client::unix(server.path()).await;
    fast.initialize("fast").await;

    let mut slow = tokio::net::UnixStream::connect(server.path())
        .await
        .unwrap();
    let init = json!({"id": "i", "method": "initialize", "params": client("slow")});
    slow.write_all(format!("{init}\n").as_bytes())
        .await
        .unwrap();
    let flood = tokio::spawn(async move {
        let mut batch = String::new();
        for id in 0..200_000 {
            batch.push_str(&format!(
                r#"{{"id":{id},"method":"getAuthStatus","params":{{}}}}"#
            ));
            batch.push('\n');
            if id % 500 == 499 {
                if slow.write_all(batch.as_bytes()).await.is_err() {
                    return id;
                }
                batch.clear();
            }
        }
        panic!("200,000 requests written without reading and still connected");
    });
    // While the slow client floods, the others are served and notified at once.
    for round in 0..3 {
        let key = format!("sk-{round}");
        let started = fast
            .result(
                "account/login/start",
                json!({"type": "apiKey", "apiKey": key}),
            )
            .await;
        assert_eq!(started, json!({"type": "apiKey"}));
        assert_eq!(
            fast.next_message().await["method"],
            "account/login/completed"
        );
        assert_eq!(fast.next_message().await["method"], "account/updated");
    }
    let written = tokio::time::timeout(TIMEOUT, flood)
        .await
        .expect("disconnected in time")
        .unwrap();
    assert!(
        written >= 32_768,
        "disconnected only once its queue was full: {written}"
    );
    let status = fast
        .result("getAuthStatus", json!({"includeToken": true}))
        .await;
    assert_eq!(status["authToken"], "sk-2");
    server.shutdown().await;
}

/// The listener's connection limit (PROTOCOL.md §7): with `MAX_CONNECTIONS` connections open, one
/// more is closed at once, and a slot freed by a client that left is served again. Against the
/// real binary, so this process and the server each stay under a 1,024-descriptor soft limit.
#[tokio::test]
async fn connections_past_the_limit_are_closed_and_a_freed_slot_is_served() {
    use app_server::network::MAX_CONNECTIONS;
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("limit.sock");
    let listen = format!("unix://{}", path.display());
    let _server = crate::support::spawn_listening(&listen, home.path(), Some("error")).await;

    let mut open = Vec::with_capacity(MAX_CONNECTIONS);
    for i in 0..MAX_CONNECTIONS {
        let mut client = Client::unix(&path).await;
        client.initialize(&format!("client-{i}")).await;
        open.push(client);
    }
    let mut refused = tokio::net::UnixStream::connect(&path).await.unwrap();
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(TIMEOUT, refused.read(&mut byte))
        .await
        .expect("the connection past the limit is closed, not left waiting");
    assert_eq!(read.unwrap(), 0, "closed without a byte");

    drop(open.pop());
    // The server frees the slot once it has seen the client leave: retry until it has.
    let initialize = format!(
        "{}\n",
        json!({"id": 1, "method": "initialize", "params": client("late")})
    );
    let served = tokio::time::timeout(TIMEOUT, async {
        loop {
            let stream = tokio::net::UnixStream::connect(&path).await.unwrap();
            let (reader, mut writer) = stream.into_split();
            let mut lines = BufReader::new(reader).lines();
            if writer.write_all(initialize.as_bytes()).await.is_ok()
                && let Ok(Some(line)) = lines.next_line().await
            {
                return serde_json::from_str::<Value>(&line).unwrap();
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("a freed slot is served");
    assert!(served["result"]["userAgent"].is_string(), "{served}");
    drop(open);
}
