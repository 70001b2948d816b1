//! A small IAM policy evaluator for one request (action, resource, principal) against one
//! document. Written here because the evaluation we need is narrow and must say *why* it is
//! uncertain (a Condition, a specific principal), which general evaluators do not report.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// An Allow statement matches unconditionally and no Deny can match.
    Allowed,
    /// An unconditional Deny matches.
    ExplicitDeny { statement: String },
    /// No statement allows the request.
    ImplicitDeny,
    /// The answer hangs on something we cannot evaluate (conditions, principals).
    Uncertain { reasons: Vec<String> },
}

pub struct Request<'a> {
    pub action: &'a str,
    pub resource: &'a str,
    /// The calling principal's ARN; `None` when unknown (endpoint policies seen from outside).
    pub principal: Option<&'a str>,
    /// Condition keys whose values are known (e.g. `aws:SourceAccount`); others are uncertain.
    pub context: &'a [(&'a str, &'a str)],
}

impl Request<'_> {
    /// The value of a context key; `Known(None)` when the key is known to be absent.
    fn key(&self, key: &str) -> Lookup<'_> {
        if let Some((_, v)) = self
            .context
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
        {
            return Lookup::Known(Some(v));
        }
        // Every principal tag of the caller is in the context (see `principal_context`): a tag
        // not listed is one the principal does not have.
        let tag_prefix = "aws:principaltag/";
        let tags_known = self
            .context
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(TAGS_KNOWN));
        if tags_known && key.to_ascii_lowercase().starts_with(tag_prefix) {
            return Lookup::Known(None);
        }
        // aws:username exists only for IAM users; a role's requests never carry it.
        if key.eq_ignore_ascii_case("aws:username") && self.principal_is_role() {
            return Lookup::Known(None);
        }
        Lookup::Unknown
    }

    fn principal_is_role(&self) -> bool {
        self.context
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("aws:PrincipalArn") && v.contains(":role/"))
    }
}

enum Lookup<'a> {
    Known(Option<&'a str>),
    Unknown,
}

/// Marks a context whose `aws:PrincipalTag/*` entries are the principal's complete tag set.
pub const TAGS_KNOWN: &str = "fargate-preflight:PrincipalTagsComplete";

/// What IAM knows about a role making a request: its ARN, account and every tag.
pub fn principal_context(
    role_arn: &str,
    tags: &std::collections::BTreeMap<String, String>,
) -> Vec<(String, String)> {
    let account = role_arn.split(':').nth(4).unwrap_or_default();
    let mut context = vec![
        ("aws:PrincipalArn".to_string(), role_arn.to_string()),
        ("aws:PrincipalAccount".to_string(), account.to_string()),
        (TAGS_KNOWN.to_string(), "true".to_string()),
    ];
    context.extend(
        tags.iter()
            .map(|(k, v)| (format!("aws:PrincipalTag/{k}"), v.clone())),
    );
    context
}

/// Borrowed pairs for `Request::context`.
pub fn pairs(context: &[(String, String)]) -> Vec<(&str, &str)> {
    context
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

#[derive(Debug)]
pub struct PolicyError(pub String);

impl std::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Policy documents may come URL-encoded (IAM) or as plain JSON (EC2, moto).
pub fn parse_document(text: &str) -> Result<Value, PolicyError> {
    let decoded;
    let text = if text.trim_start().starts_with('%') || text.contains("%7B") {
        decoded = percent_encoding::percent_decode_str(text)
            .decode_utf8()
            .map_err(|e| PolicyError(format!("policy is not valid URL-encoded UTF-8: {e}")))?;
        decoded.as_ref()
    } else {
        text
    };
    serde_json::from_str(text).map_err(|e| PolicyError(format!("policy is not valid JSON: {e}")))
}

fn strings(v: Option<&Value>) -> Option<Vec<&str>> {
    match v? {
        Value::String(s) => Some(vec![s.as_str()]),
        Value::Array(items) => Some(items.iter().filter_map(Value::as_str).collect()),
        _ => Some(vec![]),
    }
}

/// IAM wildcard match: `*` any run of characters, `?` one character.
pub fn wildcard_match(pattern: &str, text: &str, case_insensitive: bool) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = if case_insensitive {
        (
            pattern.to_lowercase().chars().collect(),
            text.to_lowercase().chars().collect(),
        )
    } else {
        (pattern.chars().collect(), text.chars().collect())
    };
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

enum Match {
    No,
    Yes,
    /// Matches only if something we cannot see holds.
    Maybe(String),
}

fn field_matches(
    stmt: &Value,
    positive: &str,
    negative: &str,
    value: &str,
    case_insensitive: bool,
) -> bool {
    if let Some(patterns) = strings(stmt.get(positive)) {
        patterns
            .iter()
            .any(|p| wildcard_match(p, value, case_insensitive))
    } else if let Some(patterns) = strings(stmt.get(negative)) {
        !patterns
            .iter()
            .any(|p| wildcard_match(p, value, case_insensitive))
    } else {
        false
    }
}

/// Resource / NotResource, with policy variables resolved from the request.
fn resource_matches(stmt: &Value, req: &Request) -> Match {
    let (patterns, negated) = match (
        strings(stmt.get("Resource")),
        strings(stmt.get("NotResource")),
    ) {
        (Some(p), _) => (p, false),
        (None, Some(p)) => (p, true),
        // Trust and resource-less statements: no resource restriction.
        (None, None) => return Match::Yes,
    };
    let mut unsure = None;
    let mut hit = false;
    for p in patterns {
        match substitute(p, req) {
            Ok(Some(p)) if wildcard_match(&p, req.resource, false) => hit = true,
            Ok(_) => {}
            Err(why) => unsure = Some(why),
        }
    }
    match (hit, unsure, negated) {
        (true, _, false) | (false, None, true) => Match::Yes,
        (true, _, true) | (false, None, false) => Match::No,
        (false, Some(why), _) => Match::Maybe(format!("the resource depends on {why}")),
    }
}

fn principal_matches(stmt: &Value, principal: Option<&str>) -> Match {
    let (key, negated) = match (stmt.get("Principal"), stmt.get("NotPrincipal")) {
        (Some(p), _) => (p, false),
        (None, Some(p)) => (p, true),
        // Identity policies have no Principal: they apply to their holder.
        (None, None) => return Match::Yes,
    };
    let listed: Vec<&str> = match key {
        Value::String(s) => vec![s.as_str()],
        Value::Object(map) => map
            .values()
            .flat_map(|v| strings(Some(v)).unwrap_or_default())
            .collect(),
        _ => vec![],
    };
    let any = listed.contains(&"*");
    // An account (its id or `arn:…:iam::ID:root`) stands for every principal in it (IAM User
    // Guide, Principal element: "does not limit permissions to only the root user").
    let account_of = |arn: &str| arn.split(':').nth(4).map(str::to_string);
    let named = principal.is_some_and(|p| {
        listed.iter().any(|l| {
            wildcard_match(l, p, false)
                || listed_account(l)
                    .is_some_and(|a| p.starts_with("arn:") && account_of(p) == Some(a))
        })
    });
    match (negated, any || named, principal) {
        (false, true, _) => Match::Yes,
        (true, true, _) => Match::No,
        (true, false, Some(_)) => Match::Yes,
        (false, false, Some(_)) => Match::No,
        (_, false, None) => Match::Maybe(format!(
            "statement limited to principal {}",
            serde_json::to_string(key).unwrap_or_default()
        )),
    }
}

/// The account a Principal entry names as a whole: `123456789012` or `arn:PARTITION:iam::ID:root`.
fn listed_account(entry: &str) -> Option<String> {
    let is_id = |s: &str| s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit());
    if is_id(entry) {
        return Some(entry.to_string());
    }
    let parts: Vec<&str> = entry.split(':').collect();
    (parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "iam"
        && parts[5] == "root"
        && is_id(parts[4]))
    .then(|| parts[4].to_string())
}

/// A pattern after substituting policy variables (`${aws:PrincipalTag/team}`, with an optional
/// `, 'default'`): `Ok(Some(text))`, `Ok(None)` when a variable has no value (the element then
/// matches nothing, IAM User Guide "Policy variables with no value"), `Err` when we cannot know.
fn substitute(pattern: &str, req: &Request) -> Result<Option<String>, String> {
    let mut out = String::new();
    let mut rest = pattern;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let Some(len) = rest[start..].find('}') else {
            out.push_str(&rest[start..]);
            return Ok(Some(out));
        };
        let inner = &rest[start + 2..start + len];
        rest = &rest[start + len + 1..];
        let (key, default) = match inner.split_once(',') {
            Some((k, d)) => (k.trim(), Some(d.trim().trim_matches('\''))),
            None => (inner.trim(), None),
        };
        if matches!(key, "*" | "?" | "$") {
            return Err(format!("the escaped character ${{{key}}} in {pattern}"));
        }
        match (req.key(key), default) {
            (Lookup::Known(Some(v)), _) => out.push_str(v),
            (Lookup::Known(None), Some(d)) => out.push_str(d),
            (Lookup::Known(None), None) => return Ok(None),
            (Lookup::Unknown, _) => {
                return Err(format!("the policy variable ${{{key}}} in {pattern}"))
            }
        }
    }
    out.push_str(rest);
    Ok(Some(out))
}

/// Evaluates a Condition block against the known keys: `Some(holds)`, or `None` when it uses
/// an operator or key we cannot evaluate.
fn condition_holds(condition: &Value, req: &Request) -> Option<bool> {
    for (operator, block) in condition.as_object()? {
        // Every key a request here carries has one value, and over a set of one
        // ForAllValues and ForAnyValue both reduce to the operator itself.
        let unqualified = operator
            .strip_prefix("ForAllValues:")
            .or_else(|| operator.strip_prefix("ForAnyValue:"))
            .unwrap_or(operator);
        let base = unqualified.strip_suffix("IfExists").unwrap_or(unqualified);
        for (key, expected) in block.as_object()? {
            // An unknown key may well be present on the real request (IfExists or not).
            let Lookup::Known(Some(actual)) = req.key(key) else {
                return None;
            };
            let expected: Vec<String> = strings(Some(expected))?
                .into_iter()
                .map(|e| substitute(e, req).ok().flatten())
                .collect::<Option<_>>()?;
            let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
            let equal = expected.contains(&actual);
            let like = expected.iter().any(|e| wildcard_match(e, actual, false));
            let holds = match base {
                "StringEquals" | "ArnEquals" => equal,
                "StringEqualsIgnoreCase" => expected.iter().any(|e| e.eq_ignore_ascii_case(actual)),
                "StringLike" | "ArnLike" => like,
                "StringNotEquals" | "ArnNotEquals" => !equal,
                "StringNotLike" | "ArnNotLike" => !like,
                _ => return None,
            };
            if !holds {
                return Some(false);
            }
        }
    }
    Some(true)
}

fn statement_label(stmt: &Value, index: usize) -> String {
    stmt.get("Sid").and_then(Value::as_str).map_or_else(
        || format!("statement #{}", index + 1),
        |s| format!("\"{s}\""),
    )
}

pub fn evaluate(doc: &Value, req: &Request) -> Decision {
    let statements: Vec<&Value> = match doc.get("Statement") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => vec![],
    };
    let mut allowed = false;
    let mut uncertain = Vec::new();
    for (i, stmt) in statements.iter().enumerate() {
        let action = field_matches(stmt, "Action", "NotAction", req.action, true);
        if !action {
            continue;
        }
        let resource_unsure = match resource_matches(stmt, req) {
            Match::No => continue,
            Match::Yes => None,
            Match::Maybe(why) => Some(why),
        };
        let mut maybe = match principal_matches(stmt, req.principal) {
            Match::No => continue,
            Match::Yes => resource_unsure,
            Match::Maybe(why) => {
                Some(resource_unsure.map_or(why.clone(), |r| format!("{r}; {why}")))
            }
        };
        if let Some(cond) = stmt
            .get("Condition")
            .filter(|c| c.as_object().is_some_and(|m| !m.is_empty()))
        {
            match condition_holds(cond, req) {
                Some(true) => {}
                Some(false) => continue,
                None => {
                    let why = format!(
                        "Condition {}",
                        serde_json::to_string(cond).unwrap_or_default()
                    );
                    maybe = Some(maybe.map_or(why.clone(), |m| format!("{m}; {why}")));
                }
            }
        }
        let label = statement_label(stmt, i);
        let deny = stmt.get("Effect").and_then(Value::as_str) == Some("Deny");
        match (deny, maybe) {
            (true, None) => return Decision::ExplicitDeny { statement: label },
            (true, Some(why)) => uncertain.push(format!("Deny {label} may apply ({why})")),
            (false, None) => allowed = true,
            (false, Some(why)) => uncertain.push(format!("Allow {label} applies only if {why}")),
        }
    }
    let denies_pending = uncertain.iter().any(|u| u.starts_with("Deny"));
    let allows_pending = uncertain.iter().any(|u| u.starts_with("Allow"));
    match (allowed, denies_pending, allows_pending) {
        (true, false, _) => Decision::Allowed,
        (false, _, false) => Decision::ImplicitDeny,
        _ => Decision::Uncertain { reasons: uncertain },
    }
}

/// The policy's Deny statements over an allow of everything: evaluated, it says only whether
/// a Deny applies (`ExplicitDeny`), may apply (`Uncertain`) or does not (`Allowed`).
pub fn denies_only(doc: &Value) -> Value {
    let statements = match &doc["Statement"] {
        Value::Array(list) => list.clone(),
        single @ Value::Object(_) => vec![single.clone()],
        _ => vec![],
    };
    let mut kept: Vec<serde_json::Value> = statements
        .into_iter()
        .filter(|s| s["Effect"].as_str() == Some("Deny"))
        .collect();
    kept.push(
        serde_json::json!({"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}),
    );
    serde_json::json!({"Version": "2012-10-17", "Statement": kept})
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const LAYER: &str = "arn:aws:s3:::prod-eu-west-1-starport-layer-bucket/*";

    fn get(doc: Value) -> Decision {
        evaluate(
            &doc,
            &Request {
                action: "s3:GetObject",
                resource: LAYER,
                principal: None,
                context: &[],
            },
        )
    }

    #[test]
    fn allow_with_wildcards() {
        let d = get(json!({"Statement": [{"Effect": "Allow", "Principal": "*",
            "Action": "s3:Get*", "Resource": "arn:aws:s3:::prod-*-starport-layer-bucket/*"}]}));
        assert_eq!(d, Decision::Allowed);
        let d = get(
            json!({"Statement": {"Effect": "Allow", "Principal": {"AWS": "*"},
            "Action": ["S3:GETOBJECT"], "Resource": "*"}}),
        );
        assert_eq!(d, Decision::Allowed);
    }

    #[test]
    fn no_matching_allow_is_implicit_deny() {
        let d = get(json!({"Statement": [{"Effect": "Allow", "Principal": "*",
            "Action": "s3:GetObject", "Resource": "arn:aws:s3:::my-bucket/*"}]}));
        assert_eq!(d, Decision::ImplicitDeny);
        let d = get(json!({"Statement": [{"Effect": "Allow", "Principal": "*",
            "Action": "s3:PutObject", "Resource": "*"}]}));
        assert_eq!(d, Decision::ImplicitDeny);
    }

    #[test]
    fn explicit_deny_wins() {
        let d = get(json!({"Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
            {"Sid": "NoLayers", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
             "Resource": "arn:aws:s3:::prod-eu-west-1-starport-layer-bucket/*"}]}));
        assert_eq!(
            d,
            Decision::ExplicitDeny {
                statement: "\"NoLayers\"".into()
            }
        );
    }

    #[test]
    fn not_action_and_not_resource() {
        let d = get(json!({"Statement": [{"Effect": "Allow", "Principal": "*",
            "NotAction": "s3:PutObject", "Resource": "*"}]}));
        assert_eq!(d, Decision::Allowed);
        let d = get(json!({"Statement": [{"Effect": "Allow", "Principal": "*",
            "Action": "*", "NotResource": "arn:aws:s3:::prod-*"}]}));
        assert_eq!(d, Decision::ImplicitDeny);
        let d = get(json!({"Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Principal": "*", "NotAction": "s3:GetObject", "Resource": "*"}]}));
        assert_eq!(d, Decision::Allowed);
    }

    #[test]
    fn conditions_and_principals_are_uncertain() {
        let d = get(
            json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*",
            "Resource": "*", "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}}}]}),
        );
        assert!(
            matches!(d, Decision::Uncertain { ref reasons } if reasons[0].contains("aws:SourceVpce"))
        );
        let d = get(json!({"Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*",
             "Condition": {"StringNotEquals": {"aws:PrincipalAccount": "123456789012"}}}]}));
        assert!(matches!(d, Decision::Uncertain { .. }));
        let d = get(json!({"Statement": [{"Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "*", "Resource": "*"}]}));
        assert!(
            matches!(d, Decision::Uncertain { ref reasons } if reasons[0].contains("principal"))
        );
    }

    #[test]
    fn known_condition_keys_are_evaluated() {
        let trust = json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
            "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}}]});
        let assume = |account| {
            evaluate(
                &trust,
                &Request {
                    action: "sts:AssumeRole",
                    resource: "*",
                    principal: Some("ecs-tasks.amazonaws.com"),
                    context: &[("aws:SourceAccount", account)],
                },
            )
        };
        assert_eq!(assume("123456789012"), Decision::Allowed);
        assert_eq!(assume("999999999999"), Decision::ImplicitDeny);
        let other_service = evaluate(
            &trust,
            &Request {
                action: "sts:AssumeRole",
                resource: "*",
                principal: Some("ec2.amazonaws.com"),
                context: &[("aws:SourceAccount", "123456789012")],
            },
        );
        assert_eq!(other_service, Decision::ImplicitDeny);
    }

    #[test]
    fn set_qualifiers_judge_a_single_value() {
        let grant = |condition: Value, operations: &str| {
            evaluate(
                &json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": "fargate.amazonaws.com"},
                    "Action": "kms:CreateGrant", "Resource": "*", "Condition": condition}]}),
                &Request {
                    action: "kms:CreateGrant",
                    resource: "*",
                    principal: Some("fargate.amazonaws.com"),
                    context: &[("kms:GrantOperations", operations)],
                },
            )
        };
        let only_decrypt =
            json!({"ForAllValues:StringEquals": {"kms:GrantOperations": ["Decrypt"]}});
        assert_eq!(grant(only_decrypt.clone(), "Decrypt"), Decision::Allowed);
        assert_eq!(grant(only_decrypt, "Encrypt"), Decision::ImplicitDeny);
        let any_retire = json!({"ForAnyValue:StringLike": {"kms:GrantOperations": "Retire*"}});
        assert_eq!(grant(any_retire, "Decrypt"), Decision::ImplicitDeny);
    }

    #[test]
    fn url_encoded_documents_parse() {
        let doc = parse_document("%7B%22Statement%22%3A%5B%5D%7D").unwrap();
        assert_eq!(get(doc), Decision::ImplicitDeny);
        assert!(parse_document("{not json").is_err());
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("ecr:Batch*", "ecr:BatchGetImage", false));
        assert!(wildcard_match("a?c", "abc", false));
        assert!(!wildcard_match("a?c", "ac", false));
        assert!(wildcard_match("*", "", false));
        assert!(!wildcard_match(
            "arn:aws:s3:::a/*",
            "arn:aws:s3:::b/x",
            false
        ));
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;
        use serde_json::json;

        /// A plain recursive reading of IAM's wildcards, to hold the fast matcher to.
        fn reference(p: &[char], t: &[char]) -> bool {
            match (p.first(), t.first()) {
                (None, None) => true,
                (Some('*'), _) => reference(&p[1..], t) || (!t.is_empty() && reference(p, &t[1..])),
                (Some('?'), Some(_)) => reference(&p[1..], &t[1..]),
                (Some(a), Some(b)) => a == b && reference(&p[1..], &t[1..]),
                _ => false,
            }
        }

        /// Any JSON a policy document might hold, with IAM's keys more often than not.
        fn documents() -> impl Strategy<Value = Value> {
            let key = prop_oneof![
                Just("Statement"),
                Just("Effect"),
                Just("Action"),
                Just("NotAction"),
                Just("Resource"),
                Just("NotResource"),
                Just("Principal"),
                Just("NotPrincipal"),
                Just("Condition"),
                Just("StringEquals"),
                Just("aws:SourceVpce"),
                Just("AWS"),
                Just("x"),
            ];
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::from),
                any::<i64>().prop_map(Value::from),
                "[a-z:*?${}/-]{0,12}".prop_map(Value::from),
                Just(json!("Allow")),
                Just(json!("Deny")),
                Just(json!("*")),
            ];
            leaf.prop_recursive(4, 48, 6, move |inner| {
                prop_oneof![
                    proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                    proptest::collection::btree_map(
                        key.clone().prop_map(str::to_string),
                        inner,
                        0..4
                    )
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        proptest! {
            #[test]
            fn wildcard_matcher_agrees_with_the_reference(p in "[ab*?]{0,8}", t in "[ab]{0,8}") {
                let (pc, tc): (Vec<char>, Vec<char>) = (p.chars().collect(), t.chars().collect());
                prop_assert_eq!(wildcard_match(&p, &t, false), reference(&pc, &tc));
            }

            #[test]
            fn any_document_is_evaluated_without_panicking(doc in documents(), action in "[a-z]{1,4}:[A-Za-z*]{0,6}") {
                let request = Request { action: &action, resource: "arn:aws:s3:::b/k", principal: Some("arn:aws:iam::1:role/r"), context: &[("aws:PrincipalAccount", "1")] };
                let _ = evaluate(&doc, &request);
                let _ = parse_document(&doc.to_string());
            }

            #[test]
            fn not_action_is_the_complement_of_action(pattern in "[a-z*]{1,3}:[A-Za-z*?]{0,5}", action in "[a-z]{1,3}:[A-Za-z]{0,5}") {
                let decide = |key: &str| evaluate(
                    &json!({"Statement": [{"Effect": "Allow", key: pattern, "Resource": "*"}]}),
                    &Request { action: &action, resource: "*", principal: None, context: &[] },
                );
                prop_assert_ne!(decide("Action") == Decision::Allowed, decide("NotAction") == Decision::Allowed);
            }

            #[test]
            fn url_encoded_and_plain_documents_decide_alike(resource in "[a-z*/]{1,8}") {
                let doc = json!({"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{resource}")}}).to_string();
                let encoded = percent_encoding::utf8_percent_encode(&doc, percent_encoding::NON_ALPHANUMERIC).to_string();
                let request = Request { action: "s3:GetObject", resource: "arn:aws:s3:::b/key", principal: None, context: &[] };
                prop_assert_eq!(
                    evaluate(&parse_document(&doc).unwrap(), &request),
                    evaluate(&parse_document(&encoded).unwrap(), &request)
                );
            }
        }
    }
}
