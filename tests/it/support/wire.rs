//! A client of the network listeners (PROTOCOL.md §7) speaking the stdio dialect over a
//! WebSocket (text frames) or a unix socket (lines), and an in-process listener on port 0 or
//! a temp socket that stops when dropped.

use std::path::Path;

use app_server::ServerState;
use app_server::network::{self, Bound, Listen, NetworkOptions};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpStream, UnixStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::creds::fresh_access_token;
use super::{TIMEOUT, client};

/// A listener started in process; stops when dropped.
pub struct Listener {
    /// Where it is bound.
    pub bound: Bound,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Listener {
    /// Serves `state` on `listen`.
    pub async fn start(listen: Listen, state: ServerState, options: NetworkOptions) -> Self {
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let (bound, task) = network::serve(&listen, options, state, shutdown)
            .await
            .expect("serve");
        Self {
            bound,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// A WebSocket listener on a free loopback port.
    pub async fn ws(state: ServerState, options: NetworkOptions) -> Self {
        let listen = Listen::parse("ws://127.0.0.1:0").expect("listen");
        let listener = Self::start(listen, state, options).await;
        assert_ne!(listener.addr().port(), 0, "port 0 picks a free port");
        listener
    }

    /// The WebSocket address.
    pub fn addr(&self) -> std::net::SocketAddr {
        match &self.bound {
            Bound::WebSocket(addr) => *addr,
            Bound::Unix(path) => panic!("a unix socket: {}", path.display()),
        }
    }

    /// `ws://IP:PORT`.
    pub fn url(&self) -> String {
        format!("ws://{}", self.addr())
    }

    /// The socket path.
    pub fn path(&self) -> &Path {
        match &self.bound {
            Bound::Unix(path) => path,
            Bound::WebSocket(addr) => panic!("a WebSocket listener: {addr}"),
        }
    }

    /// Stops the listener and waits until it has shut down.
    pub async fn shutdown(mut self) {
        let _ = self.stop.take().expect("running").send(());
        let task = self.task.take().expect("running");
        tokio::time::timeout(TIMEOUT, task)
            .await
            .expect("shutdown in time")
            .expect("server task");
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

enum Transport {
    Ws(Box<WebSocketStream<MaybeTlsStream<TcpStream>>>),
    Unix {
        lines: Lines<BufReader<OwnedReadHalf>>,
        writer: OwnedWriteHalf,
    },
}

/// One client connection; messages that are not the awaited answer are kept in `kept`.
pub struct Client {
    transport: Transport,
    next_id: i64,
    /// Notifications and server requests read while waiting for an answer, in order.
    pub kept: Vec<Value>,
}

impl Client {
    /// A WebSocket client of `url`.
    pub async fn ws(url: &str) -> Self {
        Self::ws_with(url, &[]).await.expect("connect")
    }

    /// A WebSocket client with extra upgrade headers; the HTTP refusal as an error.
    pub async fn ws_with(
        url: &str,
        headers: &[(&'static str, &str)],
    ) -> Result<Self, tungstenite::Error> {
        let mut request = url.into_client_request()?;
        for (name, value) in headers {
            request
                .headers_mut()
                .insert(*name, value.parse().expect("header value"));
        }
        let (stream, _) = tokio::time::timeout(TIMEOUT, tokio_tungstenite::connect_async(request))
            .await
            .expect("handshake in time")?;
        Ok(Self::new(Transport::Ws(Box::new(stream))))
    }

    /// A newline-delimited client of the unix socket at `path`.
    pub async fn unix(path: &Path) -> Self {
        let stream = UnixStream::connect(path).await.expect("connect");
        let (reader, writer) = stream.into_split();
        Self::new(Transport::Unix {
            lines: BufReader::new(reader).lines(),
            writer,
        })
    }

    fn new(transport: Transport) -> Self {
        Self {
            transport,
            next_id: 1,
            kept: Vec::new(),
        }
    }

    /// Sends one raw text message (a frame, or a line).
    pub async fn send_text(&mut self, text: &str) {
        match &mut self.transport {
            Transport::Ws(stream) => stream.send(Message::text(text)).await.expect("send"),
            Transport::Unix { writer, .. } => {
                writer.write_all(text.as_bytes()).await.expect("send");
                writer.write_all(b"\n").await.expect("send");
            }
        }
    }

    /// Sends one JSON message as it is.
    pub async fn send(&mut self, message: Value) {
        self.send_text(&message.to_string()).await;
    }

    /// Sends a bare request (no `"jsonrpc"`) and returns its id.
    pub async fn send_request(&mut self, method: &str, params: Value) -> Value {
        let id = json!(self.next_id);
        self.next_id += 1;
        self.send(json!({"id": id, "method": method, "params": params}))
            .await;
        id
    }

    /// The next message, or `None` once the server closed the connection.
    pub async fn try_read(&mut self) -> Option<Value> {
        let text = match &mut self.transport {
            Transport::Ws(stream) => loop {
                let next = tokio::time::timeout(TIMEOUT, stream.next())
                    .await
                    .expect("timed out waiting for the server");
                match next {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return None,
                    Some(Ok(Message::Text(text))) => break text.to_string(),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(other)) => panic!("unexpected frame {other:?}"),
                }
            },
            Transport::Unix { lines, .. } => {
                let next = tokio::time::timeout(TIMEOUT, lines.next_line())
                    .await
                    .expect("timed out waiting for the server");
                match next {
                    Ok(Some(line)) => line,
                    Ok(None) | Err(_) => return None,
                }
            }
        };
        let message: Value = serde_json::from_str(&text).expect("one JSON message per frame");
        assert!(
            message.get("jsonrpc").is_none(),
            "the stdio dialect: no \"jsonrpc\" member: {message}"
        );
        Some(message)
    }

    /// The next message.
    pub async fn read(&mut self) -> Value {
        self.try_read().await.expect("connection open")
    }

    /// Reads until the answer to `id`, keeping everything else aside.
    pub async fn answer_to(&mut self, id: &Value) -> Value {
        loop {
            let message = self.read().await;
            if message.get("method").is_some() {
                self.kept.push(message);
            } else {
                assert_eq!(&message["id"], id, "unexpected answer {message}");
                return message;
            }
        }
    }

    /// Sends a request and returns its whole answer.
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.send_request(method, params).await;
        self.answer_to(&id).await
    }

    /// Sends a request and returns its result (fails on an error answer).
    pub async fn result(&mut self, method: &str, params: Value) -> Value {
        let answer = self.call(method, params).await;
        answer
            .get("result")
            .cloned()
            .unwrap_or_else(|| panic!("{method} failed: {answer}"))
    }

    /// `initialize` as client `name`.
    pub async fn initialize(&mut self, name: &str) -> Value {
        self.result("initialize", client(name)).await
    }

    /// The next notification or server request (kept or read).
    pub async fn next_message(&mut self) -> Value {
        if self.kept.is_empty() {
            let message = self.read().await;
            assert!(
                message.get("method").is_some(),
                "expected a notification: {message}"
            );
            message
        } else {
            self.kept.remove(0)
        }
    }

    /// The WebSocket underneath (panics for a unix socket client).
    pub fn into_ws(self) -> WebSocketStream<MaybeTlsStream<TcpStream>> {
        match self.transport {
            Transport::Ws(stream) => *stream,
            Transport::Unix { .. } => panic!("not a WebSocket client"),
        }
    }

    /// Waits until the server closes the connection; messages before it are dropped.
    pub async fn closed(&mut self) {
        while self.try_read().await.is_some() {}
    }
}

/// Signs in `client` with external ChatGPT tokens; returns the access token.
async fn supply_external_tokens(client: &mut Client) -> String {
    let token = fresh_access_token("ext-1");
    let started = client
        .result(
            "account/login/start",
            json!({"type": "chatgptAuthTokens", "accessToken": token,
                   "chatgptAccountId": "acct-ext", "chatgptPlanType": "team"}),
        )
        .await;
    assert_eq!(started, json!({"type": "chatgptAuthTokens"}));
    token
}

/// Over `client`: a 401 report of external tokens makes the server ask this client for new
/// ones (`account/chatgptAuthTokens/refresh`); its answer completes the report.
pub async fn server_request_round_trip(client: &mut Client) {
    client.initialize("host").await;
    let rejected = supply_external_tokens(client).await;
    let report = client
        .send_request(
            "account/reportUnauthorized",
            json!({"accessToken": rejected}),
        )
        .await;
    let request = loop {
        let message = client.read().await;
        if message["method"] == "account/chatgptAuthTokens/refresh" {
            break message;
        }
        assert!(message.get("id").is_none(), "{message}");
    };
    assert!(request["id"].is_i64(), "{request}");
    assert_eq!(request["params"]["previousAccountId"], "acct-ext");
    let new = fresh_access_token("ext-2");
    client
        .send(json!({"id": request["id"], "result": {
            "accessToken": new, "chatgptAccountId": "acct-ext", "chatgptPlanType": "team"}}))
        .await;
    let answer = client.answer_to(&report).await;
    assert_eq!(answer["result"]["refreshed"], json!(true), "{answer}");
    assert_eq!(answer["result"]["authToken"], json!(new));
}
