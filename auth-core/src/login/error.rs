//! How a browser or device-code login ends when it does not succeed. The `Display` texts are the
//! exact AUTH.md §8 messages; none of them carries a token, code, verifier or state.

/// The message when a device-code login is not enabled on the issuer (a `-32600` on the wire).
pub const DEVICE_CODE_NOT_ENABLED: &str = "device code login is not enabled for this Codex server. \
     Use the browser login or verify the server URL.";

/// Why a login failed, was cancelled or could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    /// Cancelled by the caller or replaced by another login, a logout or an API-key login.
    #[error("Login was not completed")]
    NotCompleted,
    /// The browser login saw no completed sign-in within its timeout.
    #[error("Login timed out")]
    TimedOut,
    /// Someone requested `/cancel` on the callback server (normally a newer login).
    #[error("Login cancelled")]
    Cancelled,
    /// The issuer redirected back with an `error` parameter; holds its description (or the code).
    #[error("Sign-in failed: {0}")]
    SignInFailed(String),
    /// The issuer answered `access_denied` because Codex is not enabled for the workspace.
    #[error(
        "Codex is not enabled for your workspace. Contact your workspace administrator to request access to Codex."
    )]
    MissingEntitlement,
    /// The callback carried neither `code` nor `error`.
    #[error("Missing authorization code. Sign-in could not be completed.")]
    MissingCode,
    /// The browser login's code exchange failed; holds the endpoint's status and message.
    #[error("Token exchange failed: {0}")]
    TokenExchange(String),
    /// The id_token breaks the configured workspace restriction (AUTH.md §8.5 texts).
    #[error("{0}")]
    Restricted(String),
    /// The credentials could not be saved; the detail is the storage error (logged, not shown).
    #[error("Sign-in completed but credentials could not be saved locally.")]
    SaveFailed(String),
    /// The callback port stayed busy after the cancel request and the retries.
    #[error("Port 127.0.0.1:{0} is already in use")]
    PortInUse(u16),
    /// The callback server could not start for another reason.
    #[error("{0}")]
    Server(String),
    /// The issuer does not offer device-code login (`usercode` answered 404).
    #[error("{}", DEVICE_CODE_NOT_ENABLED)]
    DeviceCodeNotEnabled,
    /// The `usercode` request got another non-2xx status (e.g. `500 Internal Server Error`).
    #[error("device code request failed with status {0}")]
    DeviceCodeStatus(String),
    /// The `usercode` request failed in transport or returned an unreadable body.
    #[error("device code request failed: {0}")]
    DeviceCodeRequest(String),
    /// A device-code poll got a status other than 2xx, 403 or 404.
    #[error("device auth failed with status {0}")]
    DeviceAuthStatus(String),
    /// A device-code poll failed in transport or returned an unreadable body.
    #[error("device auth failed: {0}")]
    DeviceAuthRequest(String),
    /// The user did not approve the device code in time.
    #[error("device auth timed out after 15 minutes")]
    DeviceTimedOut,
    /// The device-code flow's code exchange failed.
    #[error("device code exchange failed: {0}")]
    DeviceExchange(String),
}
