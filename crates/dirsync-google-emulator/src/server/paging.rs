//! Paging: page tokens bound to the request's fingerprint, `maxResults`, and one page of
//! a sorted listing.

use std::borrow::Cow;
use std::collections::HashMap;

use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::response::ApiError;

pub(super) fn fingerprint(parts: &[&str]) -> String {
    let d = Sha256::digest(parts.join("\u{1}").as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&d[..9])
}

pub(super) fn encode_token(fp: &str, page: usize, last_key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("v1\n{fp}\n{page}\n{last_key}"))
}

/// Decodes a page token into (page index, last key). `Err` = not a token of this listing.
pub(super) fn decode_token(token: &str, fp: &str) -> Result<(usize, String), ApiError> {
    let bad = || ApiError::invalid("Invalid Input: pageToken").at("pageToken", "parameter");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    let mut it = raw.splitn(4, '\n');
    match (it.next(), it.next(), it.next(), it.next()) {
        (Some("v1"), Some(f), Some(page), Some(key)) if f == fp => {
            Ok((page.parse().map_err(|_| bad())?, key.to_owned()))
        }
        _ => Err(bad()),
    }
}

/// Page index and "after" key from `pageToken` (page 0 without a token).
pub(super) fn page_of(
    p: &HashMap<String, String>,
    fp: &str,
) -> Result<(usize, Option<String>), ApiError> {
    match p.get("pageToken").filter(|t| !t.is_empty()) {
        None => Ok((0, None)),
        Some(t) => decode_token(t, fp).map(|(i, k)| (i, Some(k))),
    }
}

pub(super) fn max_results(
    p: &HashMap<String, String>,
    default: usize,
    max: usize,
) -> Result<usize, ApiError> {
    match p.get("maxResults") {
        None => Ok(default),
        Some(s) => {
            let n: i64 = s.parse().map_err(|_| {
                ApiError::invalid(format!("Invalid value '{s}'. Values must be an integer."))
                    .at("maxResults", "parameter")
            })?;
            if n < 1 || n > max as i64 {
                return Err(ApiError::invalid(format!(
                    "Invalid value '{n}'. Values must be within the range: [1, {max}]"
                ))
                .at("maxResults", "parameter"));
            }
            Ok(n as usize)
        }
    }
}

/// Takes the page after `after` of items ordered by their (unique) key, descending when
/// asked; returns the page and the key to continue after. Linear in the items (a selection,
/// not a sort of them all), so that paging through a big listing is not quadratic.
pub(super) fn take_page<T>(
    items: Vec<(Cow<'_, str>, T)>,
    after: Option<&str>,
    descending: bool,
    size: usize,
) -> (Vec<T>, Option<String>) {
    let order = |a: &(Cow<'_, str>, T), b: &(Cow<'_, str>, T)| {
        let o = a.0.cmp(&b.0);
        if descending { o.reverse() } else { o }
    };
    let mut rest: Vec<(Cow<'_, str>, T)> = items
        .into_iter()
        .filter(|(k, _)| match after {
            None => true,
            Some(a) if descending => k.as_ref() < a,
            Some(a) => k.as_ref() > a,
        })
        .collect();
    let more = rest.len() > size;
    if more {
        rest.select_nth_unstable_by(size, order);
        rest.truncate(size);
    }
    rest.sort_by(order);
    let last = if more {
        rest.last().map(|(k, _)| k.clone().into_owned())
    } else {
        None
    };
    (rest.into_iter().map(|(_, v)| v).collect(), last)
}

/// `s` ASCII-lowercased, borrowed when it already is (listing keys, built for every item of
/// every page).
pub(super) fn lowercase(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}
