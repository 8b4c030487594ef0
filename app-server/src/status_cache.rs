//! The text of the last `getAuthStatus` answer, reused while the view it was written from stays
//! the same (issue 16): polling clients ask the same question of unchanged credentials many
//! times a second, and writing the answer was the largest part of a poll's cost. A hit needs the
//! very snapshot (`AuthView::is_same`) and the same question, so nothing stale is ever answered:
//! new credentials, a recorded failure or a changed backoff are a new view.

use auth_core::AuthView;
use protocol::GetAuthStatusResponse;

use crate::error::RpcError;
use crate::reply::Encoded;

/// What a `getAuthStatus` call asked, besides the view it is answered from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StatusQuery {
    /// `includeToken`.
    pub(crate) include_token: bool,
    /// `includeRefreshFailure`.
    pub(crate) include_failure: bool,
    /// Whether the provider needs OpenAI auth.
    pub(crate) requires_openai_auth: bool,
}

/// One answer per value of `includeToken` (clients ask with and without it). Never printed: an
/// answer can hold a token.
#[derive(Default)]
pub(crate) struct StatusCache {
    slots: parking_lot::Mutex<[Option<Entry>; 2]>,
}

struct Entry {
    query: StatusQuery,
    view: AuthView,
    answer: Encoded<GetAuthStatusResponse>,
}

impl StatusCache {
    /// The answer to `query` from `view`: the kept text when both are the same as last time,
    /// else `write()`'s, which is then kept.
    pub(crate) fn answer(
        &self,
        view: &AuthView,
        query: StatusQuery,
        write: impl FnOnce() -> GetAuthStatusResponse,
    ) -> Result<Encoded<GetAuthStatusResponse>, RpcError> {
        let slot = usize::from(query.include_token);
        if let Some(entry) = &self.slots.lock()[slot]
            && entry.query == query
            && entry.view.is_same(view)
        {
            return Ok(entry.answer.clone());
        }
        let answer = Encoded::new(&write())?;
        self.slots.lock()[slot] = Some(Entry {
            query,
            view: view.clone(),
            answer: answer.clone(),
        });
        Ok(answer)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed assertion.
mod tests {
    use super::*;

    fn query(include_token: bool) -> StatusQuery {
        StatusQuery {
            include_token,
            include_failure: false,
            requires_openai_auth: true,
        }
    }

    fn response(token: &str) -> GetAuthStatusResponse {
        GetAuthStatusResponse {
            auth_method: None,
            auth_token: Some(token.to_owned().into()),
            requires_openai_auth: true,
            refresh_failure: None,
        }
    }

    #[test]
    fn the_same_question_of_the_same_view_is_answered_from_the_kept_text() {
        let cache = StatusCache::default();
        let view = AuthView::default();
        let first = cache.answer(&view, query(true), || response("a")).unwrap();
        let mut wrote = false;
        let second = cache
            .answer(&view, query(true), || {
                wrote = true;
                response("b")
            })
            .unwrap();
        assert!(!wrote);
        assert_eq!(second.into_json().get(), first.into_json().get());
    }

    #[test]
    fn another_question_is_written_anew() {
        let cache = StatusCache::default();
        let view = AuthView::default();
        cache.answer(&view, query(true), || response("a")).unwrap();
        let other = StatusQuery {
            include_failure: true,
            ..query(true)
        };
        let answer = cache.answer(&view, other, || response("b")).unwrap();
        assert!(answer.into_json().get().contains("\"b\""));
        let without = cache.answer(&view, query(false), || response("c")).unwrap();
        assert!(without.into_json().get().contains("\"c\""));
    }
}
