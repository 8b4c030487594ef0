//! Reading issuer answers with a size cap (issue 12 item 11): a body is read chunk by chunk and
//! abandoned once it passes [`MAX_RESPONSE_BYTES`], so a hostile or broken issuer cannot grow our
//! memory (a 512 MB chunked answer took the server to 527 MB). Used by [`crate::http::ReqwestHttp`].

/// The largest issuer answer we read: token answers are a few kilobytes.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024;

use crate::http::BodyError;

/// Reads `response`'s body, at most [`MAX_RESPONSE_BYTES`].
pub(crate) async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, BodyError> {
    if response
        .content_length()
        .is_some_and(|len| len > MAX_RESPONSE_BYTES as u64)
    {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|err| BodyError::Transport(crate::http::reqwest_transport(err)))?
    {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A loopback server that answers one request with a chunked body of `total` bytes, without
    /// a length, and reports how many bytes it managed to write before we hung up.
    async fn chunked_server(total: usize) -> (String, tokio::task::JoinHandle<usize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf).await;
            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
            if stream.write_all(head.as_bytes()).await.is_err() {
                return 0;
            }
            let chunk = vec![b' '; 64 * 1024];
            let mut sent = 0;
            while sent < total {
                let frame = format!("{:x}\r\n", chunk.len());
                let ok = stream.write_all(frame.as_bytes()).await.is_ok()
                    && stream.write_all(&chunk).await.is_ok()
                    && stream.write_all(b"\r\n").await.is_ok();
                if !ok {
                    break;
                }
                sent += chunk.len();
            }
            let _ = stream.write_all(b"0\r\n\r\n").await;
            sent
        });
        (url, task)
    }

    /// Issue 12 item 11: a 512 MB chunked answer is cut off at the cap, not read whole.
    #[tokio::test]
    async fn an_endless_body_is_cut_off_at_the_cap() {
        let (url, server) = chunked_server(512 << 20).await;
        let response = reqwest::Client::new().get(&url).send().await.unwrap();
        let err = read_capped(response).await.unwrap_err();
        assert!(matches!(err, BodyError::TooLarge), "{err:?}");
        let sent = server.await.unwrap();
        assert!(
            sent < 64 << 20,
            "the server wrote {sent} bytes before we stopped"
        );
    }

    #[tokio::test]
    async fn a_small_body_is_read_whole() {
        let (url, server) = chunked_server(64 * 1024).await;
        let response = reqwest::Client::new().get(&url).send().await.unwrap();
        assert_eq!(read_capped(response).await.unwrap().len(), 64 * 1024);
        server.await.unwrap();
    }
}
