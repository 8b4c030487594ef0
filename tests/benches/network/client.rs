//! The network bench's clients: tokio tasks on a multi-threaded runtime, each with its own
//! connection, `initialize` first, then one `getAuthStatus` in flight at a time.

use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role;

/// How the clients reach the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `ws://127.0.0.1:PORT`.
    WebSocket,
    /// A unix socket carrying WebSocket frames.
    Unix,
}

/// How a unix-socket client opens its WebSocket: Codex's control socket takes the HTTP upgrade,
/// ours frames from the first byte (no HTTP; it reads anything else as newline-delimited JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnixOpening {
    HttpUpgrade,
    RawFrames,
}

impl Transport {
    pub fn name(self) -> &'static str {
        match self {
            Transport::WebSocket => "WebSocket",
            Transport::Unix => "unix socket",
        }
    }
}

/// Every round trip of a case, its wall time, and how many clients the server turned away.
pub struct Load {
    pub rtts: Vec<u64>,
    pub wall: Duration,
    pub refused: usize,
}

impl Load {
    pub fn throughput(&self) -> f64 {
        self.rtts.len() as f64 / self.wall.as_secs_f64()
    }

    pub fn quantile_us(&self, q: f64) -> f64 {
        if self.rtts.is_empty() {
            return f64::NAN;
        }
        let mut sorted = self.rtts.clone();
        sorted.sort_unstable();
        let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
        sorted[index] as f64 / 1000.0
    }
}

/// Connects `clients` clients, warms each up, then measures `per_client` polls each, all
/// clients at once.
pub async fn run(
    endpoint: &str,
    transport: Transport,
    opening: UnixOpening,
    clients: usize,
    warmup: usize,
    per_client: usize,
) -> Load {
    let mut connections = Vec::with_capacity(clients);
    let mut refused = 0;
    for _ in 0..clients {
        // A server at its connection limit answers 503 (WebSocket) or closes the socket.
        let Ok(mut c) = connect(endpoint, transport, opening).await else {
            refused += 1;
            continue;
        };
        if initialize(&mut c).await.is_err() {
            refused += 1;
            continue;
        }
        for i in 0..warmup {
            poll(&mut c, 1 + i as i64).await;
        }
        connections.push(c);
    }
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(connections.len() + 1));
    let mut tasks = Vec::with_capacity(clients);
    for mut c in connections {
        let barrier = std::sync::Arc::clone(&barrier);
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let mut rtts = Vec::with_capacity(per_client);
            for i in 0..per_client {
                let sent = Instant::now();
                poll(&mut c, 1_000_000 + i as i64).await;
                rtts.push(sent.elapsed().as_nanos() as u64);
            }
            let _ = c.close(None).await;
            rtts
        }));
    }
    barrier.wait().await;
    let start = Instant::now();
    let mut rtts = Vec::with_capacity(clients * per_client);
    for t in tasks {
        rtts.extend(t.await.expect("client task"));
    }
    Load {
        rtts,
        wall: start.elapsed(),
        refused,
    }
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

type Connection = WebSocketStream<Box<dyn Stream>>;

/// Connects, retrying while nothing listens yet; `Err` when the server refuses the connection.
async fn connect(
    endpoint: &str,
    transport: Transport,
    opening: UnixOpening,
) -> Result<Connection, String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let attempt: Result<Connection, String> = match transport {
            Transport::WebSocket => {
                let url = endpoint.trim_start_matches("ws://");
                match tokio::net::TcpStream::connect(url).await {
                    Ok(tcp) => {
                        let _ = tcp.set_nodelay(true);
                        let stream: Box<dyn Stream> = Box::new(tcp);
                        tokio_tungstenite::client_async(endpoint, stream)
                            .await
                            .map(|(ws, _)| ws)
                            .map_err(|e| e.to_string())
                    }
                    Err(e) => Err(e.to_string()),
                }
            }
            Transport::Unix => match tokio::net::UnixStream::connect(endpoint).await {
                Ok(unix) => {
                    let stream: Box<dyn Stream> = Box::new(unix);
                    match opening {
                        UnixOpening::RawFrames => {
                            Ok(WebSocketStream::from_raw_socket(stream, Role::Client, None).await)
                        }
                        UnixOpening::HttpUpgrade => {
                            tokio_tungstenite::client_async("ws://localhost/", stream)
                                .await
                                .map(|(ws, _)| ws)
                                .map_err(|e| e.to_string())
                        }
                    }
                }
                Err(e) => Err(e.to_string()),
            },
        };
        match attempt {
            Ok(c) => return Ok(c),
            Err(e) if e.contains("503") => return Err(e),
            Err(e) if Instant::now() > deadline => panic!("cannot connect to {endpoint}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// `initialize` and `initialized`; `Err` when the connection closes first (refused).
async fn initialize(c: &mut Connection) -> Result<(), String> {
    let request = json!({"id": 0, "method": "initialize",
        "params": {"clientInfo": {"name": "network-bench", "version": "1.0"}}});
    c.send(Message::text(request.to_string()))
        .await
        .map_err(|e| e.to_string())?;
    let answer = loop {
        match c.next().await {
            Some(Ok(Message::Text(text))) => {
                let message: Value = serde_json::from_str(text.as_str()).expect("JSON");
                if message.get("id") == Some(&json!(0)) {
                    break message;
                }
            }
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                return Err("closed before the initialize answer".to_owned());
            }
            Some(Ok(_)) => {}
        }
    };
    assert!(
        answer.get("result").is_some(),
        "initialize failed: {answer}"
    );
    c.send(Message::text(r#"{"method":"initialized"}"#))
        .await
        .map_err(|e| e.to_string())
}

async fn poll(c: &mut Connection, id: i64) {
    let request =
        format!(r#"{{"id":{id},"method":"getAuthStatus","params":{{"includeToken":true}}}}"#);
    c.send(Message::text(request)).await.expect("send poll");
    let answer = answer(c, id).await;
    assert!(
        answer["result"]["authToken"].is_string(),
        "expected a served token: {answer}"
    );
}

/// Reads frames until the answer to `id` (notifications and pings are skipped).
async fn answer(c: &mut Connection, id: i64) -> Value {
    loop {
        let frame = c.next().await.expect("connection open").expect("frame");
        let Message::Text(text) = frame else {
            continue;
        };
        let message: Value = serde_json::from_str(text.as_str()).expect("JSON");
        if message.get("id") == Some(&json!(id)) {
            return message;
        }
    }
}
