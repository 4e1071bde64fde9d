//! Admin authentication: argon2id passwords, HS256 JWTs, roles, and the
//! extractor every admin route uses.

mod account;
pub mod routes;
pub mod service;
mod throttle;

pub use account::{account_for, account_in_body, account_in_query};
pub use service::{create_admin, set_password, valid_username};
pub use throttle::LoginThrottle;

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use sea_orm::EntityTrait;
use serde::{Deserialize, Serialize};

use crate::entity::admins;
use crate::error::AppError;
use crate::state::AppState;

pub const ROLE_ADMIN: &str = "admin";
pub const ROLE_OPERATOR: &str = "operator";

pub fn hash_password(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(AppError::internal)
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A password hash nobody can match, verified against when the user does not
/// exist so that unknown and known names take the same time.
pub fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password("no such user, no such password").unwrap_or_default())
}

pub fn check_password_strength(password: &str) -> Result<(), String> {
    if password.chars().count() < 8 {
        return Err("must be at least 8 characters".into());
    }
    if password.len() > 256 {
        return Err("must be at most 256 bytes".into());
    }
    Ok(())
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// Admin id, as a string.
    pub sub: String,
    pub role: String,
    pub iat: i64,
    pub exp: i64,
    /// [`session_version`] at issue time.
    pub ver: String,
}

/// Changes whenever the admin's password or role changes, which signs out
/// every token issued before.
pub fn session_version(admin: &admins::Model) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (&admin.password_hash, &admin.role).hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl_secs: i64,
}

impl JwtKeys {
    pub fn new(secret: &[u8], ttl_secs: i64) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            ttl_secs,
        }
    }

    /// Issues a token; returns it with its expiry (unix seconds).
    pub fn issue(&self, admin: &admins::Model) -> Result<(String, i64), AppError> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: admin.id.to_string(),
            role: admin.role.clone(),
            iat: now,
            exp: now + self.ttl_secs,
            ver: session_version(admin),
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(AppError::internal)?;
        Ok((token, claims.exp))
    }

    pub fn verify(&self, token: &str) -> Result<Claims, AppError> {
        self.check(token)
    }

    /// Signs other claims with the same key (short-lived tickets); they
    /// must carry `exp` and `sub`.
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, AppError> {
        encode(&Header::new(Algorithm::HS256), claims, &self.encoding).map_err(AppError::internal)
    }

    /// Checks a token signed by [`JwtKeys::issue`] or [`JwtKeys::sign`] and
    /// reads its claims as `T` (a token of another kind does not fit `T`).
    pub fn check<T: serde::de::DeserializeOwned>(&self, token: &str) -> Result<T, AppError> {
        use jsonwebtoken::errors::ErrorKind;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        decode::<T>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|e| {
                AppError::Unauthorized(
                    match e.kind() {
                        ErrorKind::ExpiredSignature => "token expired: sign in again",
                        ErrorKind::InvalidSignature => "token signature is not valid",
                        ErrorKind::InvalidAlgorithm => {
                            "token algorithm is not accepted (HS256 only)"
                        }
                        _ => "token is malformed",
                    }
                    .to_string(),
                )
            })
    }
}

/// The signed-in admin of a request. Extracting it is what makes a route
/// require `Authorization: Bearer …`.
#[derive(Clone, Debug)]
pub struct CurrentAdmin {
    pub id: i64,
    pub username: String,
    pub role: String,
    /// Accounts an operator may manage (empty for admins, who manage all).
    pub account_ids: Vec<i64>,
    /// The peer address of the request (for the audit trail), when known.
    pub ip: Option<std::net::IpAddr>,
}

impl CurrentAdmin {
    pub fn from_model(model: &admins::Model) -> Self {
        Self {
            id: model.id,
            username: model.username.clone(),
            role: model.role.clone(),
            account_ids: account_ids_of(model),
            ip: None,
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == ROLE_ADMIN
    }

    pub fn require_admin(&self) -> Result<(), AppError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(AppError::Forbidden(
                "this needs the admin role; operators manage only their accounts' content".into(),
            ))
        }
    }

    pub fn can_access(&self, account_id: i64) -> bool {
        self.is_admin() || self.account_ids.contains(&account_id)
    }

    pub fn require_account(&self, account_id: i64) -> Result<(), AppError> {
        if self.can_access(account_id) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "account {account_id} is not assigned to operator {}",
                self.username
            )))
        }
    }
}

pub fn account_ids_of(model: &admins::Model) -> Vec<i64> {
    model
        .account_ids
        .as_ref()
        .and_then(|v| v.as_array())
        .map(|ids| ids.iter().filter_map(crate::ids::parse_id).collect())
        .unwrap_or_default()
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer_token(headers: &axum::http::HeaderMap) -> Result<&str, AppError> {
    let header = headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or_else(|| AppError::Unauthorized("missing Authorization: Bearer token".into()))?;
    header
        .to_str()
        .ok()
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            AppError::Unauthorized("Authorization header must be `Bearer <token>`".into())
        })
}

impl<S> FromRequestParts<S> for CurrentAdmin
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let state = AppState::from_ref(state);
        let token = bearer_token(&parts.headers)?;
        let claims = state.jwt.verify(token)?;
        let id: i64 = claims
            .sub
            .parse()
            .map_err(|_| AppError::Unauthorized("token is malformed".into()))?;
        // Looked up on every request so a deleted or disabled admin, or a
        // changed role, takes effect at once.
        let admin = admins::Entity::find_by_id(id)
            .one(&state.db)
            .await?
            .filter(|a| a.status == 1)
            .ok_or_else(|| {
                AppError::Unauthorized("the token's admin no longer exists or is disabled".into())
            })?;
        if claims.ver != session_version(&admin) {
            return Err(AppError::Unauthorized(
                "this admin's password or role changed since the token was issued: sign in again"
                    .into(),
            ));
        }
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|info| {
                crate::http::client_address(
                    info.0.ip(),
                    &state.config.trusted_proxies,
                    &parts.headers,
                )
            });
        Ok(CurrentAdmin {
            ip: peer,
            ..CurrentAdmin::from_model(&admin)
        })
    }
}
