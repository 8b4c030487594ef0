//! auth-core domain values → protocol wire types. Free functions, because both sides are foreign
//! to this crate (orphan rule); the only place the two vocabularies meet.

use auth_core::AuthView;
use auth_core::FailureReason;
use auth_core::PlanType as CorePlan;
use auth_core::RefreshFailureView;
use protocol::{Account, AuthMode, PlanType, RefreshFailure, RefreshFailureReason};

/// The wire spelling of a mode.
pub(crate) fn auth_mode(mode: auth_core::AuthMode) -> AuthMode {
    match mode {
        auth_core::AuthMode::ApiKey => AuthMode::ApiKey,
        auth_core::AuthMode::Chatgpt => AuthMode::Chatgpt,
        auth_core::AuthMode::ChatgptAuthTokens => AuthMode::ChatgptAuthTokens,
    }
}

/// The wire spelling of a plan.
pub(crate) fn plan_type(plan: CorePlan) -> PlanType {
    match plan {
        CorePlan::Free => PlanType::Free,
        CorePlan::Go => PlanType::Go,
        CorePlan::Plus => PlanType::Plus,
        CorePlan::Pro => PlanType::Pro,
        CorePlan::Prolite => PlanType::Prolite,
        CorePlan::Promax => PlanType::Promax,
        CorePlan::Team => PlanType::Team,
        CorePlan::SelfServeBusinessProlite => PlanType::SelfServeBusinessProlite,
        CorePlan::SelfServeBusinessUsageBased => PlanType::SelfServeBusinessUsageBased,
        CorePlan::Business => PlanType::Business,
        CorePlan::Ent26 => PlanType::Ent26,
        CorePlan::EnterpriseCbpAutomation => PlanType::EnterpriseCbpAutomation,
        CorePlan::EnterpriseCbpUsageBased => PlanType::EnterpriseCbpUsageBased,
        CorePlan::Enterprise => PlanType::Enterprise,
        CorePlan::Edu => PlanType::Edu,
        CorePlan::EduPlus => PlanType::EduPlus,
        CorePlan::EduPro => PlanType::EduPro,
        CorePlan::Sci => PlanType::Sci,
        CorePlan::SciPlus => PlanType::SciPlus,
        CorePlan::Unknown => PlanType::Unknown,
    }
}

/// `refreshFailure` of PROTOCOL.md §6.1.
pub(crate) fn refresh_failure(view: &RefreshFailureView) -> RefreshFailure {
    RefreshFailure {
        reason: match view.reason {
            FailureReason::Expired => RefreshFailureReason::Expired,
            FailureReason::Exhausted => RefreshFailureReason::Exhausted,
            FailureReason::Revoked => RefreshFailureReason::Revoked,
            FailureReason::Other => RefreshFailureReason::Other,
        },
        message: view.message.clone(),
        transient: view.transient,
        retry_after_ms: view.retry_after_ms,
    }
}

/// The opt-in `refreshFailure` key: absent unless asked for, then null or the failure.
pub(crate) fn opt_in_failure(view: &AuthView, asked: bool) -> Option<Option<RefreshFailure>> {
    asked.then(|| view.refresh_failure().map(refresh_failure))
}

/// The v2 account: null when signed out, unusable, or dead (PROTOCOL.md §4.8).
pub(crate) fn account(view: &AuthView) -> Option<Account> {
    if view.is_dead() {
        return None;
    }
    match view.mode()? {
        auth_core::AuthMode::ApiKey => Some(Account::ApiKey {}),
        auth_core::AuthMode::Chatgpt | auth_core::AuthMode::ChatgptAuthTokens => {
            Some(Account::Chatgpt {
                email: view.email().map(str::to_owned),
                plan_type: view.plan().map(plan_type).unwrap_or(PlanType::Unknown),
                workspace_name: None,
            })
        }
    }
}
