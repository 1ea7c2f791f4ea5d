//! The answer for requests no handler takes: 405 with `Allow` when the path is a known
//! route and only the method is wrong, 404 otherwise; both problem+json. Known routes are
//! read from the OpenAPI document, so they cannot drift from what is served.

use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use utoipa::openapi::OpenApi;

use crate::error::ApiError;

/// Path patterns (`{x}` matches one segment) and the methods each answers.
#[derive(Clone, Debug, Default)]
pub struct KnownRoutes(Vec<(Vec<String>, Vec<Method>)>);

impl KnownRoutes {
    pub fn of(doc: &OpenApi) -> Self {
        let routes = doc
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let mut methods = Vec::new();
                for (method, present) in [
                    (Method::GET, item.get.is_some()),
                    (Method::POST, item.post.is_some()),
                    (Method::PUT, item.put.is_some()),
                    (Method::DELETE, item.delete.is_some()),
                    (Method::PATCH, item.patch.is_some()),
                ] {
                    if present {
                        methods.push(method);
                    }
                }
                (segments(path), methods)
            })
            .collect();
        KnownRoutes(routes)
    }

    /// The methods the route at `path` answers, if `path` is a known route.
    fn allowed(&self, path: &str) -> Option<&[Method]> {
        let wanted = segments(path);
        self.0
            .iter()
            .find(|(pattern, _)| {
                pattern.len() == wanted.len()
                    && pattern
                        .iter()
                        .zip(&wanted)
                        .all(|(p, w)| p.starts_with('{') || p == w)
            })
            .map(|(_, methods)| methods.as_slice())
    }
}

fn segments(path: &str) -> Vec<String> {
    path.trim_end_matches('/')
        .split('/')
        .map(str::to_owned)
        .collect()
}

/// The default service.
pub async fn fallback(req: HttpRequest, known: actix_web::web::Data<KnownRoutes>) -> HttpResponse {
    match known.allowed(req.path()) {
        Some(methods) if !methods.contains(req.method()) => {
            let allow = methods
                .iter()
                .map(Method::as_str)
                .collect::<Vec<_>>()
                .join(", ");
            let mut response = ApiError::MethodNotAllowed.error_response();
            if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&allow) {
                response
                    .headers_mut()
                    .insert(actix_web::http::header::ALLOW, value);
            }
            response
        }
        _ => ApiError::NoRoute.error_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_one_segment_per_parameter() {
        let known = KnownRoutes(vec![
            (segments("/v1/uploads/{id}"), vec![Method::GET]),
            (segments("/v1/uploads"), vec![Method::POST]),
        ]);
        assert_eq!(known.allowed("/v1/uploads/abc"), Some(&[Method::GET][..]));
        assert_eq!(known.allowed("/v1/uploads"), Some(&[Method::POST][..]));
        assert_eq!(known.allowed("/v1/uploads/abc/def"), None);
        assert_eq!(known.allowed("/v2/uploads"), None);
    }
}
