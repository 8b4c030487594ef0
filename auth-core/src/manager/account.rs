//! Credential changes that do not come from a refresh: saving a login, API keys, external tokens,
//! logout and the startup restriction check (AUTH.md §8, §9).

use std::sync::Arc;

use super::AuthManager;
use super::refresh::LockPurpose;
use crate::auth_json::{AuthMode, IdToken, StoredAuth, TokenData};
use crate::claims::{PlanType, is_jwt};
use crate::config::ForcedLoginMethod;
use crate::error::AuthError;
use crate::restrictions::{self, API_KEY_LOGIN_DISABLED, EXTERNAL_AUTH_DISABLED};
use crate::revoke::{RevokeTokenKind, revoke, revoke_url};
use crate::secret::Secret;
use crate::snapshot::{Origin, Snapshot};
use crate::store::StoreError;

/// Tokens pushed by a host application (`chatgptAuthTokens`).
#[derive(Debug, Clone)]
pub struct ExternalTokens {
    /// The access token (must be a JWT).
    pub access_token: Secret,
    /// The ChatGPT account (workspace) id.
    pub chatgpt_account_id: String,
    /// The plan, overriding the token's claim.
    pub chatgpt_plan_type: Option<String>,
}

impl AuthManager {
    /// Stores an API key (AUTH.md §8.1).
    pub async fn login_with_api_key(&self, key: &str) -> Result<(), AuthError> {
        self.api_key_login_allowed()?;
        let key = key.trim();
        if key.is_empty() {
            return Err(AuthError::InvalidInput(
                "apiKey must not be empty".to_owned(),
            ));
        }
        self.save_login(StoredAuth::api_key(Secret::new(key))).await
    }

    /// Whether an API-key login is allowed now (forced login method, external tokens).
    pub fn api_key_login_allowed(&self) -> Result<(), AuthError> {
        if self.config().forced_login_method == Some(ForcedLoginMethod::Chatgpt) {
            return Err(AuthError::Forbidden(API_KEY_LOGIN_DISABLED.to_owned()));
        }
        self.ensure_no_external()
    }

    /// Whether external tokens may be set now (forced login method).
    pub fn external_login_allowed(&self) -> Result<(), AuthError> {
        if self.config().forced_login_method == Some(ForcedLoginMethod::Api) {
            return Err(AuthError::Forbidden(EXTERNAL_AUTH_DISABLED.to_owned()));
        }
        Ok(())
    }

    /// Fails when external tokens are active (PROTOCOL.md §2 "External auth is active").
    pub fn ensure_no_external(&self) -> Result<(), AuthError> {
        if self.state().has_external() {
            return Err(AuthError::ExternalAuthActive);
        }
        Ok(())
    }

    /// Saves the credentials of a completed login under the gate and the file lock, replaces the
    /// snapshot (clearing any remembered failure) and deletes the failure record. The store I/O
    /// runs on the blocking pool.
    pub async fn save_login(&self, stored: StoredAuth) -> Result<(), AuthError> {
        let _gate = self.inner.gate.lock().await;
        let snapshot = Arc::new(self.snapshot_from_store(stored));
        let _lock = self
            .lock_credentials(LockPurpose::Login, Some(snapshot.fingerprint()))
            .await
            .map_err(|_| AuthError::LockTimeout)?;
        let saving = Arc::clone(&snapshot);
        let previous = self
            .with_store_io(move |this| {
                // What the store held before this login, read under the lock (else the cache).
                let previous = match this.inner.store.load() {
                    Ok(Some(auth)) => Some(Arc::new(this.snapshot_from_store(auth))),
                    _ => this.state().stored().cloned(),
                };
                this.inner.store.save(&saving.stored)?;
                this.delete_record();
                let stamp = this.inner.store.stamp();
                let now = this.now();
                this.state().logged_in(saving, stamp, now);
                Ok::<_, StoreError>(previous)
            })
            .await??;
        self.revoke_replaced(previous.as_deref(), &snapshot);
        tracing::info!(target: "auth_core", fp = %snapshot.fingerprint(), mode = ?snapshot.mode(), "login saved");
        Ok(())
    }

    /// Sets external tokens (AUTH.md §8.4); memory only, they take precedence over stored ones.
    pub fn login_with_external_tokens(&self, tokens: ExternalTokens) -> Result<(), AuthError> {
        self.external_login_allowed()?;
        self.install_external(tokens)
    }

    /// Validates and installs external tokens (also used by 401 recovery).
    pub(crate) fn install_external(&self, tokens: ExternalTokens) -> Result<(), AuthError> {
        if !is_jwt(tokens.access_token.expose()) {
            return Err(AuthError::InvalidInput(
                "accessToken is not a JWT".to_owned(),
            ));
        }
        restrictions::check_external_workspace(self.config(), &tokens.chatgpt_account_id)
            .map_err(AuthError::Forbidden)?;
        let data = TokenData::new(
            IdToken::Jwt(tokens.access_token.clone()),
            tokens.access_token,
            Secret::new(""),
            Some(tokens.chatgpt_account_id.clone()),
        );
        let mut snapshot = Snapshot::new(StoredAuth::external(data, self.now()), Origin::External);
        snapshot.claims.workspace_id = Some(tokens.chatgpt_account_id);
        if let Some(plan) = tokens.chatgpt_plan_type.as_deref() {
            snapshot.claims.plan = Some(PlanType::from_claim(plan));
        }
        let now = self.now();
        self.state().set_external(Arc::new(snapshot), now);
        Ok(())
    }

    /// Signs out (AUTH.md §9): best-effort revoke, delete every store and the failure record,
    /// reset all memory. Returns whether anything was removed. A lock held elsewhere for longer
    /// than `lock_wait` does not stop a logout: the user asked to be signed out. The store I/O
    /// runs on the blocking pool.
    pub async fn logout(&self) -> Result<bool, AuthError> {
        let _gate = self.inner.gate.lock().await;
        let _lock = self
            .lock_credentials(LockPurpose::Logout, None)
            .await
            .ok()
            .flatten();
        let stored = match self.with_store_io(|this| this.inner.store.load()).await {
            Ok(Ok(Some(auth))) => Some(auth),
            _ => self.state().stored().map(|s| s.stored.clone()),
        };
        if let Some(stored) = &stored {
            self.revoke_best_effort(stored).await;
        }
        let had_external = self.state().has_external();
        let (at_delete, deleted, record_deleted) = self
            .with_store_io(|this| {
                // What is stored at the moment of deletion: a lock-unaware writer may have
                // rotated the token during the revoke; that one is revoked too, whether or not
                // the delete succeeds (issue 12 item 19).
                let at_delete = this.inner.store.load().ok().flatten();
                let deleted = this.inner.store.delete();
                let record_deleted = this.delete_record();
                let now = this.now();
                this.state().sign_out(now);
                (at_delete, deleted, record_deleted)
            })
            .await?;
        let refresh_of = |a: &StoredAuth| a.tokens.as_ref().map(|t| t.refresh_token.clone());
        if let Some(rotated) =
            at_delete.filter(|a| refresh_of(a) != stored.as_ref().and_then(refresh_of))
        {
            self.revoke_best_effort(&rotated).await;
        }
        let deleted = deleted?;
        tracing::info!(target: "auth_core", deleted, record_deleted, had_external, "logged out");
        Ok(deleted || record_deleted || had_external)
    }

    /// At startup: deletes stored credentials that break a login restriction and returns Codex's
    /// message (AUTH.md §8.5).
    /// Takes the gate and `auth.json.lock` only when something must be deleted: a startup with
    /// nothing to enforce never waits on a lock held elsewhere (issue 12 item 3).
    pub async fn enforce_login_restrictions(&self) -> Result<Option<String>, AuthError> {
        let restricted =
            |this: &AuthManager| this.state().stored().and_then(|s| s.restricted.clone());
        if restricted(self).is_none() {
            return Ok(None);
        }
        let _gate = self.inner.gate.lock().await;
        let _lock = self
            .lock_credentials(LockPurpose::RemoveRestricted, None)
            .await
            .map_err(|_| AuthError::LockTimeout)?;
        let removed = self
            .with_store_io(move |this| {
                let Some(why) = restricted(this) else {
                    return Ok(None);
                };
                this.inner.store.delete()?;
                this.delete_record();
                let now = this.now();
                this.state().remove_stored(now);
                Ok::<_, StoreError>(Some(why))
            })
            .await??;
        if let Some(why) = &removed {
            tracing::warn!(target: "auth_core", reason = %why, "stored credentials removed at startup");
        }
        Ok(removed)
    }

    /// After a ChatGPT login, revokes the previous managed refresh token when it differs from the
    /// new one (AUTH.md §8.2), in the background and best effort.
    fn revoke_replaced(&self, previous: Option<&Snapshot>, new: &Snapshot) {
        let refresh = |s: &Snapshot| s.stored.tokens.as_ref().map(|t| t.refresh_token.clone());
        let Some(previous) = previous else {
            return;
        };
        let replaced = previous.mode() == Some(AuthMode::Chatgpt)
            && new.mode() == Some(AuthMode::Chatgpt)
            && refresh(previous).is_some_and(|old| !old.is_empty() && Some(old) != refresh(new));
        if replaced {
            let this = self.clone();
            let old = previous.stored.clone();
            tokio::spawn(async move { this.revoke_best_effort(&old).await });
        }
    }

    async fn revoke_best_effort(&self, stored: &StoredAuth) {
        if stored.resolve_mode() != Ok(AuthMode::Chatgpt) {
            return;
        }
        let Some(tokens) = stored.tokens.as_ref() else {
            return;
        };
        let (token, kind) = if !tokens.refresh_token.is_empty() {
            (&tokens.refresh_token, RevokeTokenKind::RefreshToken)
        } else if !tokens.access_token.is_empty() {
            (&tokens.access_token, RevokeTokenKind::AccessToken)
        } else {
            return;
        };
        let opts = &self.inner.opts;
        let url = revoke_url(opts.revoke_url.as_deref(), opts.refresh_url.as_deref());
        match revoke(opts.http.as_ref(), &url, token, kind, opts.revoke_timeout).await {
            Ok(()) => tracing::info!(target: "auth_core", "revoked tokens at logout"),
            Err(err) => tracing::warn!(target: "auth_core", error = %err,
                "failed to revoke auth tokens during logout"),
        }
    }

    fn delete_record(&self) -> bool {
        match self.inner.coord.as_ref().map(|c| c.delete_failure()) {
            Some(Ok(deleted)) => deleted,
            Some(Err(err)) => {
                tracing::warn!(target: "auth_core", error = %err, "could not delete the failure record");
                false
            }
            None => false,
        }
    }
}
