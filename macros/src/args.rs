//! The attribute's arguments: `key = "value"` pairs, checked at compile time.

use proc_macro2::{Literal, Span, TokenStream};
use quote::{ToTokens, quote};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Lit, Meta, Token};

use crate::Adapter;
use crate::duration;

/// The kinds of resources `check` accepts, as `CheckKind` names them.
const CHECK_KINDS: &[&str] = &[
    "TASKS",
    "BLOCKING",
    "SIGNALS",
    "SERVERS",
    "TRANSPORTS",
    "READERS",
    "WRITERS",
    "TIMERS",
    "ALL",
];

/// A duration argument, checked, with the literal it came from.
struct Dur {
    secs: u64,
    nanos: u32,
    lit: syn::LitStr,
}

impl Dur {
    fn is_zero(&self) -> bool {
        self.secs == 0 && self.nanos == 0
    }

    fn tokens(&self) -> TokenStream {
        let secs = Literal::u64_suffixed(self.secs);
        let nanos = Literal::u32_suffixed(self.nanos);
        quote!(::core::time::Duration::new(#secs, #nanos))
    }
}

/// Everything the attribute was given.
#[derive(Default)]
pub(crate) struct Args {
    start: Option<Dur>,
    end: Option<Dur>,
    resolution: Option<Dur>,
    noop_cycles: Option<u32>,
    idle_step: Option<Option<Dur>>,
    idle_timeout: Option<Option<Dur>>,
    io_patience: Option<Option<Dur>>,
    check: Option<Vec<&'static str>>,
    warn_on_leaks: bool,
    multi_thread: bool,
    worker_threads: Option<usize>,
}

/// Collects errors so that one compilation reports every bad argument.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(errors) => errors.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

impl Args {
    /// Parses the attribute's arguments for `adapter`.
    pub(crate) fn parse(adapter: Adapter, tokens: TokenStream) -> syn::Result<Args> {
        let metas =
            syn::parse::Parser::parse2(Punctuated::<Meta, Token![,]>::parse_terminated, tokens)?;
        let mut args = Args::default();
        let mut errors = Errors::default();
        let mut seen: Vec<String> = Vec::new();
        let mut worker_threads_key = None;
        for meta in metas {
            let Meta::NameValue(pair) = meta else {
                errors.push(syn::Error::new_spanned(
                    &meta,
                    format!(
                        "expected `key = value`, like `end = \"10s\"` or `noop_cycles = 1`; {}",
                        adapter.keys_hint()
                    ),
                ));
                continue;
            };
            let Some(key) = pair.path.get_ident().map(ToString::to_string) else {
                errors.push(syn::Error::new_spanned(
                    &pair.path,
                    format!("unknown argument; {}", adapter.keys_hint()),
                ));
                continue;
            };
            if seen.contains(&key) {
                errors.push(syn::Error::new_spanned(
                    &pair.path,
                    format!("`{key}` is given more than once"),
                ));
                continue;
            }
            seen.push(key.clone());
            let value = &pair.value;
            let result = match key.as_str() {
                "start" => duration_arg(value).map(|d| args.start = Some(d)),
                "end" => duration_arg(value).map(|d| args.end = Some(d)),
                "resolution" => duration_arg(value).map(|d| args.resolution = Some(d)),
                "idle_step" => optional_duration_arg(value).map(|d| args.idle_step = Some(d)),
                "idle_timeout" => optional_duration_arg(value).map(|d| args.idle_timeout = Some(d)),
                "io_patience" => optional_duration_arg(value).map(|d| args.io_patience = Some(d)),
                "noop_cycles" => {
                    int_arg::<u32>(value, "noop_cycles = 1").map(|n| args.noop_cycles = Some(n))
                }
                "check" => check_arg(value).map(|kinds| args.check = Some(kinds)),
                "leaks" => leaks_arg(value).map(|warn| args.warn_on_leaks = warn),
                "flavor" | "worker_threads" if adapter != Adapter::Tokio => {
                    Err(syn::Error::new_spanned(
                        &pair.path,
                        format!(
                            "`{key}` is only for `#[looptime_tokio::test]`: \
                             `#[{}]` runs on its own runtime",
                            adapter.attribute()
                        ),
                    ))
                }
                "flavor" => flavor_arg(value).map(|multi| args.multi_thread = multi),
                "worker_threads" => {
                    worker_threads_key = Some(pair.path.clone());
                    int_arg::<usize>(value, "worker_threads = 4").and_then(|n| {
                        if n == 0 {
                            Err(syn::Error::new_spanned(
                                value,
                                "`worker_threads` must be at least 1",
                            ))
                        } else {
                            args.worker_threads = Some(n);
                            Ok(())
                        }
                    })
                }
                _ => Err(syn::Error::new_spanned(
                    &pair.path,
                    match closest(&key, adapter.keys()) {
                        Some(close) => format!("unknown argument `{key}`: did you mean `{close}`?"),
                        None => format!("unknown argument `{key}`; {}", adapter.keys_hint()),
                    },
                )),
            };
            if let Err(error) = result {
                errors.push(error);
            }
        }
        if let Some(key) = worker_threads_key
            && !args.multi_thread
        {
            errors.push(syn::Error::new_spanned(
                key,
                "`worker_threads` needs `flavor = \"multi_thread\"` (the default flavor, \
                 \"current_thread\", runs on the test's own thread)",
            ));
        }
        if let Some(resolution) = &args.resolution
            && resolution.is_zero()
        {
            errors.push(syn::Error::new_spanned(
                &resolution.lit,
                "`resolution` must be at least 1ns",
            ));
        }
        if let Some(Some(step)) = &args.idle_step
            && step.is_zero()
        {
            errors.push(syn::Error::new_spanned(
                &step.lit,
                "`idle_step` must be positive (or \"none\")",
            ));
        }
        if let Some(end) = &args.end {
            let start = args.start.as_ref().map_or((0, 0), |s| (s.secs, s.nanos));
            if (end.secs, end.nanos) < start {
                errors.push(syn::Error::new_spanned(
                    &end.lit,
                    "`end` is before `start`: loop time would be over before the test begins",
                ));
            }
        }
        errors.finish()?;
        Ok(args)
    }

    /// Whether the tokio runtime is multi-threaded, and with how many workers.
    pub(crate) fn tokio_flavor(&self) -> (bool, Option<usize>) {
        (self.multi_thread, self.worker_threads)
    }

    /// The `TestConfig` expression, given the path to `looptime_api` and the test's name.
    pub(crate) fn config(&self, api: &TokenStream, name: TokenStream) -> TokenStream {
        let mut settings = quote!(#api::Settings::new());
        let mut set = |method: &str, value: TokenStream| {
            let method = syn::Ident::new(method, Span::call_site());
            settings = quote!(#settings.#method(#value));
        };
        if let Some(d) = &self.start {
            set("start", d.tokens());
        }
        if let Some(d) = &self.end {
            set("end", d.tokens());
        }
        if let Some(d) = &self.resolution {
            set("resolution", d.tokens());
        }
        if let Some(n) = self.noop_cycles {
            set("noop_cycles", Literal::u32_suffixed(n).into_token_stream());
        }
        if let Some(Some(d)) = &self.idle_step {
            set("idle_step", d.tokens());
        }
        let optional = |d: &Option<Dur>| match d {
            Some(d) => {
                let d = d.tokens();
                quote!(::core::option::Option::Some(#d))
            }
            None => quote!(::core::option::Option::None),
        };
        if let Some(d) = &self.idle_timeout {
            set("idle_timeout", optional(d));
        }
        if let Some(d) = &self.io_patience {
            set("io_patience", optional(d));
        }
        let mut config = quote!(#api::testing::TestConfig::new(#name).settings(#settings));
        if let Some(kinds) = &self.check {
            let kinds = kinds.iter().map(|k| syn::Ident::new(k, Span::call_site()));
            config = quote!(#config.check(#api::CheckKind::empty() #(| #api::CheckKind::#kinds)*));
        }
        if self.warn_on_leaks {
            config = quote!(#config.leaks(#api::testing::LeakPolicy::Warn));
        }
        config
    }
}

/// The key nearest to a misspelt one (at most two edits away).
fn closest<'k>(key: &str, keys: &[&'k str]) -> Option<&'k str> {
    keys.iter()
        .map(|k| (edit_distance(key, k), *k))
        .filter(|(distance, _)| *distance <= 2)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, k)| k)
}

/// Levenshtein distance between two short strings.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

fn string_arg(value: &Expr, example: &str) -> syn::Result<syn::LitStr> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Ok(lit.clone()),
        _ => Err(syn::Error::new_spanned(
            value,
            format!("expected a string, like {example}"),
        )),
    }
}

fn duration_arg(value: &Expr) -> syn::Result<Dur> {
    let lit = string_arg(value, "\"10s\", \"1.5ms\" or \"1m30s\"")?;
    let (secs, nanos) =
        duration::parse(&lit.value()).map_err(|message| syn::Error::new(lit.span(), message))?;
    Ok(Dur { secs, nanos, lit })
}

fn optional_duration_arg(value: &Expr) -> syn::Result<Option<Dur>> {
    let lit = string_arg(value, "\"1s\" or \"none\"")?;
    if lit.value().trim().eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    duration_arg(value).map(Some)
}

fn int_arg<N>(value: &Expr, example: &str) -> syn::Result<N>
where
    N: std::str::FromStr,
    N::Err: std::fmt::Display,
{
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(lit), ..
        }) => lit.base10_parse::<N>(),
        _ => Err(syn::Error::new_spanned(
            value,
            format!("expected an integer, like `{example}`"),
        )),
    }
}

fn check_arg(value: &Expr) -> syn::Result<Vec<&'static str>> {
    let lit = string_arg(value, "\"ALL\" or \"TASKS | TRANSPORTS\"")?;
    let text = lit.value();
    let mut kinds = Vec::new();
    for word in text.split('|').map(str::trim) {
        if word.eq_ignore_ascii_case("NONE") {
            continue;
        }
        match CHECK_KINDS.iter().find(|k| k.eq_ignore_ascii_case(word)) {
            Some(kind) => kinds.push(*kind),
            None => {
                return Err(syn::Error::new(
                    lit.span(),
                    format!(
                        "unknown kind {word:?} in `check`: expected kinds joined by `|`, \
                         among {} (or NONE)",
                        CHECK_KINDS.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(kinds)
}

fn leaks_arg(value: &Expr) -> syn::Result<bool> {
    let lit = string_arg(value, "\"fail\" or \"warn\"")?;
    match lit.value().as_str() {
        "fail" => Ok(false),
        "warn" => Ok(true),
        other => Err(syn::Error::new(
            lit.span(),
            format!("`leaks` is \"fail\" (the default) or \"warn\", not {other:?}"),
        )),
    }
}

fn flavor_arg(value: &Expr) -> syn::Result<bool> {
    let lit = string_arg(value, "\"multi_thread\"")?;
    match lit.value().as_str() {
        "current_thread" => Ok(false),
        "multi_thread" => Ok(true),
        other => Err(syn::Error::new(
            value.span(),
            format!(
                "`flavor` is \"current_thread\" (the default) or \"multi_thread\", not {other:?}"
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::{closest, edit_distance};

    #[test]
    fn suggests_the_nearest_key() {
        assert_eq!(edit_distance("ends", "end"), 1);
        assert_eq!(edit_distance("", "end"), 3);
        assert_eq!(edit_distance("noop_cycle", "noop_cycles"), 1);
        let keys = ["start", "end", "noop_cycles", "idle_step"];
        assert_eq!(closest("ends", &keys), Some("end"));
        assert_eq!(closest("idlestep", &keys), Some("idle_step"));
        assert_eq!(closest("timeout", &keys), None);
    }
}
