//! Rate limits per caller: a token bucket per token subject, or per client IP for
//! anonymous callers. Every response says where the caller stands
//! (`X-RateLimit-Limit`, `-Remaining`, `-Reset`); an empty bucket answers 429 with
//! `Retry-After`. Buckets live in this process: with N API processes behind a
//! balancer a caller gets up to N times the limit.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::subject_of;
use crate::error::ApiError;

/// `capacity` requests at once, refilled at `per_minute` requests a minute.
#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    pub per_minute: u32,
    pub burst: u32,
}

pub struct RateLimiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Where a caller stands after one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Standing {
    pub allowed: bool,
    pub remaining: u32,
    /// Until the bucket is full again.
    pub reset: Duration,
    /// Until the next request would be allowed (0 when allowed).
    pub retry_after: Duration,
}

/// Buckets untouched this long are full anyway and are dropped.
const IDLE: Duration = Duration::from_secs(600);
const SWEEP_AT: usize = 100_000;

impl RateLimiter {
    pub fn new(limit: RateLimit) -> Arc<Self> {
        Arc::new(RateLimiter {
            limit,
            buckets: Mutex::new(HashMap::new()),
        })
    }

    fn rate_per_second(&self) -> f64 {
        f64::from(self.limit.per_minute.max(1)) / 60.0
    }

    /// Returns a token taken from `key`'s bucket: for limits that count only
    /// some requests (failed sign-ins), taken before the outcome is known.
    pub fn give_back(&self, key: &str) {
        let capacity = f64::from(self.limit.burst.max(1));
        if let Ok(mut buckets) = self.buckets.lock() {
            if let Some(bucket) = buckets.get_mut(key) {
                bucket.tokens = (bucket.tokens + 1.0).min(capacity);
            }
        }
    }

    /// Takes one token from `key`'s bucket, if there is one.
    pub fn check(&self, key: &str, now: Instant) -> Standing {
        let capacity = f64::from(self.limit.burst.max(1));
        let rate = self.rate_per_second();
        let Ok(mut buckets) = self.buckets.lock() else {
            // A poisoned lock must not take the API down: let the request pass.
            return Standing {
                allowed: true,
                remaining: 0,
                reset: Duration::ZERO,
                retry_after: Duration::ZERO,
            };
        };
        if buckets.len() >= SWEEP_AT {
            buckets.retain(|_, b| now.duration_since(b.updated) < IDLE);
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: capacity,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(capacity);
        bucket.updated = now;
        let allowed = bucket.tokens >= 1.0;
        if allowed {
            bucket.tokens -= 1.0;
        }
        let missing = capacity - bucket.tokens;
        Standing {
            allowed,
            remaining: bucket.tokens.floor() as u32,
            reset: Duration::from_secs_f64(missing / rate),
            retry_after: if allowed {
                Duration::ZERO
            } else {
                Duration::from_secs_f64((1.0 - bucket.tokens) / rate)
            },
        }
    }
}

/// The middleware. `None` in the state turns limits off (benchmarks, tests).
pub async fn limit(
    State(limiter): State<Option<Arc<RateLimiter>>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(limiter) = limiter else {
        return next.run(request).await;
    };
    let key = match subject_of(&request) {
        Some(subject) => format!("sub:{subject}"),
        None => match request.extensions().get::<ConnectInfo<SocketAddr>>() {
            Some(ConnectInfo(addr)) => format!("ip:{}", addr.ip()),
            None => "ip:unknown".to_owned(),
        },
    };
    let standing = limiter.check(&key, Instant::now());
    let mut response = if standing.allowed {
        next.run(request).await
    } else {
        ApiError::TooManyRequests {
            retry_after: standing.retry_after,
        }
        .into_response()
    };
    set_headers(response.headers_mut(), limiter.limit.burst, standing);
    response
}

fn set_headers(headers: &mut HeaderMap, limit: u32, standing: Standing) {
    let values = [
        ("x-ratelimit-limit", u64::from(limit)),
        ("x-ratelimit-remaining", u64::from(standing.remaining)),
        (
            "x-ratelimit-reset",
            standing.reset.as_secs_f64().ceil() as u64,
        ),
    ];
    for (name, value) in values {
        if let Ok(value) = HeaderValue::from_str(&value.to_string()) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_a_burst_then_refuses_until_refilled() {
        let limiter = RateLimiter::new(RateLimit {
            per_minute: 60,
            burst: 3,
        });
        let start = Instant::now();
        for remaining in [2, 1, 0] {
            let standing = limiter.check("a", start);
            assert!(standing.allowed);
            assert_eq!(standing.remaining, remaining);
        }
        let refused = limiter.check("a", start);
        assert!(!refused.allowed);
        assert!(
            refused.retry_after > Duration::from_millis(900),
            "{refused:?}"
        );
        // Another caller has a bucket of their own.
        assert!(limiter.check("b", start).allowed);
        // One token a second comes back.
        assert!(
            limiter
                .check("a", start + Duration::from_millis(1100))
                .allowed
        );
    }

    #[test]
    fn reset_is_the_time_to_a_full_bucket() {
        let limiter = RateLimiter::new(RateLimit {
            per_minute: 60,
            burst: 10,
        });
        let now = Instant::now();
        limiter.check("a", now);
        let standing = limiter.check("a", now);
        assert_eq!(standing.reset.as_secs_f64().round(), 2.0);
    }
}
