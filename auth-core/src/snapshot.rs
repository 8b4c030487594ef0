//! An immutable credential snapshot with everything derived from it computed once (AUTH.md §4.1).

use std::fmt;

use chrono::{DateTime, Duration, Utc};

use crate::auth_json::{AuthMode, StoredAuth, Unusable};
use crate::claims::{PlanType, TokenClaims, access_token_exp, claims_from_payload, jwt_payload};
use crate::fingerprint::Fingerprint;
use crate::secret::Secret;

/// Refresh when the access token expires within this window.
const EXPIRY_WINDOW_SECS: i64 = 5 * 60;
/// Without a readable `exp`, refresh when `last_refresh` is older than this.
const MAX_AGE_DAYS: i64 = 8;

/// Where a snapshot came from; decides polling, persistence and refreshability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The configured credential store.
    Store,
    /// `CODEX_API_KEY` from the environment (never persisted, never refreshed).
    EnvKey,
    /// Tokens pushed by the host application (memory only).
    External,
}

/// One immutable view of stored credentials.
#[derive(Clone)]
pub struct Snapshot {
    pub(crate) stored: StoredAuth,
    pub(crate) fingerprint: Fingerprint,
    pub(crate) origin: Origin,
    pub(crate) mode: Result<AuthMode, Unusable>,
    pub(crate) claims: TokenClaims,
    pub(crate) access_exp: Option<i64>,
    /// Set when the snapshot breaks a `config.toml` login restriction (AUTH.md §8.5).
    pub(crate) restricted: Option<String>,
}

impl Snapshot {
    /// Derives everything from `stored`.
    pub(crate) fn new(stored: StoredAuth, origin: Origin) -> Snapshot {
        let fingerprint = stored.fingerprint();
        let mode = stored.resolve_mode();
        let (claims, access_exp) = match (&mode, stored.tokens.as_ref()) {
            (Ok(AuthMode::ChatgptAuthTokens), Some(t)) => (
                jwt_payload(t.access_token.expose())
                    .map(|p| claims_from_payload(&p))
                    .unwrap_or_default(),
                access_token_exp(t.access_token.expose()),
            ),
            (_, Some(t)) => (
                t.id_token.claims(),
                access_token_exp(t.access_token.expose()),
            ),
            (_, None) => (TokenClaims::default(), None),
        };
        Snapshot {
            stored,
            fingerprint,
            origin,
            mode,
            claims,
            access_exp,
            restricted: None,
        }
    }

    /// The fingerprint of the modelled fields.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// The resolved mode, or `None` when the snapshot is unusable or restricted.
    pub fn mode(&self) -> Option<AuthMode> {
        match (&self.mode, &self.restricted) {
            (Ok(mode), None) => Some(*mode),
            _ => None,
        }
    }

    /// The bearer (API key or access token) when the snapshot is usable.
    pub(crate) fn bearer(&self) -> Option<&Secret> {
        self.mode()?;
        self.stored.bearer()
    }

    /// The access token, for chatgpt modes.
    pub(crate) fn access_token(&self) -> Option<&Secret> {
        self.stored.tokens.as_ref().map(|t| &t.access_token)
    }

    /// Whether the token endpoint may be asked to refresh this snapshot.
    pub(crate) fn is_refreshable(&self) -> bool {
        self.origin == Origin::Store && self.restricted.is_none() && self.stored.is_refreshable()
    }

    /// The workspace (ChatGPT account) id: `tokens.account_id`, else the claim.
    pub(crate) fn account_id(&self) -> Option<&str> {
        self.stored
            .tokens
            .as_ref()
            .and_then(|t| t.account_id.as_deref())
            .or(self.claims.workspace_id.as_deref())
    }

    /// The plan for display: the claim, `unknown` when ChatGPT auth lacks it.
    pub(crate) fn plan(&self) -> Option<PlanType> {
        match self.mode()? {
            AuthMode::ApiKey => None,
            AuthMode::Chatgpt | AuthMode::ChatgptAuthTokens => {
                Some(self.claims.plan.unwrap_or(PlanType::Unknown))
            }
        }
    }

    /// Whether the access token is known to be still valid at `now` (a readable `exp` in the
    /// future): such a token is served at once while a refresh runs (issue 12 item 9).
    pub(crate) fn is_known_valid(&self, now: DateTime<Utc>) -> bool {
        self.access_exp.is_some_and(|exp| exp > now.timestamp())
    }

    /// The proactive rule of AUTH.md §5.
    pub(crate) fn should_refresh(&self, now: DateTime<Utc>) -> bool {
        if let Some(exp) = self.access_exp {
            return exp <= now.timestamp() + EXPIRY_WINDOW_SECS;
        }
        match self.stored.last_refresh {
            Some(last) => last < now - Duration::days(MAX_AGE_DAYS),
            None => false,
        }
    }
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot")
            .field("fp", &self.fingerprint)
            .field("origin", &self.origin)
            .field("mode", &self.mode)
            .field("restricted", &self.restricted.is_some())
            .finish()
    }
}
