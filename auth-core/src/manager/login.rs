//! Browser and device-code logins started through the manager: restrictions first, then the
//! flow of `crate::login`, whose completed credentials are saved by [`AuthManager::save_login`]
//! (so a login replaces credentials only after they are safely written).

use std::sync::{Arc, Weak};

use super::{AuthManager, Inner};
use crate::auth_json::StoredAuth;
use crate::config::ForcedLoginMethod;
use crate::error::AuthError;
use crate::login::{self, DeviceCode, LoginError, LoginHandle, LoginOptions, Persist};
use crate::restrictions::CHATGPT_LOGIN_DISABLED;

impl AuthManager {
    /// Starts a browser login; returns its handle and the URL the user must open.
    pub async fn start_browser_login(&self) -> Result<(LoginHandle, String), LoginStartError> {
        self.browser_login(self.login_options()).await
    }

    /// [`AuthManager::start_browser_login`] on behalf of a client: `originator` becomes the
    /// authorize URL's `originator` parameter (PROTOCOL.md §3).
    pub async fn start_browser_login_as(
        &self,
        originator: &str,
    ) -> Result<(LoginHandle, String), LoginStartError> {
        let mut opts = self.login_options();
        originator.clone_into(&mut opts.originator);
        self.browser_login(opts).await
    }

    /// [`AuthManager::start_browser_login_as`] with Codex 0.171's success page choice
    /// (`useHostedLoginSuccessPage` / `appBrand` of `account/login/start`).
    pub async fn start_browser_login_with(
        &self,
        originator: &str,
        success_page: crate::login::SuccessPage,
    ) -> Result<(LoginHandle, String), LoginStartError> {
        let mut opts = self.login_options();
        originator.clone_into(&mut opts.originator);
        opts.success_page = success_page;
        self.browser_login(opts).await
    }

    async fn browser_login(
        &self,
        opts: LoginOptions,
    ) -> Result<(LoginHandle, String), LoginStartError> {
        self.check_chatgpt_login_allowed()?;
        login::start_browser_login(&opts, self.persist())
            .await
            .map_err(LoginStartError::Flow)
    }

    /// Starts a device-code login; returns after the issuer handed out a user code.
    pub async fn start_device_login(&self) -> Result<(LoginHandle, DeviceCode), LoginStartError> {
        self.check_chatgpt_login_allowed()?;
        login::start_device_login(&self.login_options(), self.persist())
            .await
            .map_err(LoginStartError::Flow)
    }

    /// Whether a browser or device-code login is allowed now (forced login method, external
    /// tokens).
    pub fn check_chatgpt_login_allowed(&self) -> Result<(), LoginStartError> {
        if self.config().forced_login_method == Some(ForcedLoginMethod::Api) {
            return Err(LoginStartError::Refused(AuthError::Forbidden(
                CHATGPT_LOGIN_DISABLED.to_owned(),
            )));
        }
        self.ensure_no_external().map_err(LoginStartError::Refused)
    }

    fn login_options(&self) -> LoginOptions {
        let opts = &self.inner.opts;
        LoginOptions {
            issuer: opts.issuer.clone(),
            originator: opts.originator.clone(),
            callback_port: opts.callback_port,
            allowed_workspaces: opts.config.forced_workspace_ids.clone(),
            config: opts.config.clone(),
            login_timeout: opts.login_timeout,
            device_timeout: opts.device_timeout,
            http_timeout: opts.login_http_timeout,
            client_id: opts.client_id.clone(),
            success_page: crate::login::SuccessPage::Local,
            header_timeout: std::time::Duration::from_secs(10),
            http: opts.http.clone(),
        }
    }

    /// The save callback handed to a flow. It holds the manager weakly, so a forgotten login
    /// never keeps a dropped manager alive.
    fn persist(&self) -> Persist {
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        Arc::new(move |stored: StoredAuth| {
            let weak = weak.clone();
            Box::pin(async move {
                let inner = weak
                    .upgrade()
                    .ok_or_else(|| "server is shutting down".to_owned())?;
                AuthManager { inner }
                    .save_login(stored)
                    .await
                    .map_err(|err| err.to_string())
            })
        })
    }
}

/// Why a login could not start.
#[derive(Debug, thiserror::Error)]
pub enum LoginStartError {
    /// A restriction or active external tokens forbid it (PROTOCOL.md -32600 texts).
    #[error("{0}")]
    Refused(AuthError),
    /// The flow itself failed to start (port busy, device-code request failed, ...).
    #[error("{0}")]
    Flow(LoginError),
}
