//! Container image references, parsed with Docker's rules: the first path component is a
//! registry host only if it contains `.` or `:` or is `localhost`; otherwise Docker Hub.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    pub registry: String,
    pub repository: String,
    /// `:tag` or `@sha256:…`; `:latest` when neither is given.
    pub reference: String,
}

/// A private ECR registry: `ACCOUNT.dkr.ecr[-fips].REGION.amazonaws.com[.cn]`, or the
/// dual-stack `ACCOUNT.dkr-ecr[-fips].REGION.on.aws`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcrRegistry {
    pub account: String,
    pub region: String,
    /// ECR does not serve PrivateLink over dual-stack endpoints: such a pull needs a path out.
    pub dualstack: bool,
}

pub fn parse(image: &str) -> ImageRef {
    let (name_and_tag, digest) = match image.split_once('@') {
        Some((name, digest)) => (name, Some(format!("@{digest}"))),
        None => (image, None),
    };
    // A tag's `:` comes after the last `/`; an earlier `:` is a registry port.
    let last_slash = name_and_tag.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match name_and_tag[last_slash..].rfind(':') {
        Some(i) => (
            &name_and_tag[..last_slash + i],
            Some(name_and_tag[last_slash + i..].to_string()),
        ),
        None => (name_and_tag, None),
    };
    // With both, the digest is what gets pulled.
    let reference = digest.or(tag).unwrap_or_else(|| ":latest".to_string());
    let (registry, repository) = match name.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (first.to_string(), rest.to_string())
        }
        _ => ("docker.io".to_string(), name.to_string()),
    };
    // Docker Hub answers under several names; they all mean the same registry.
    let registry = match registry.as_str() {
        "index.docker.io" | "registry-1.docker.io" => "docker.io".to_string(),
        _ => registry,
    };
    let repository = if registry == "docker.io" && !repository.contains('/') {
        format!("library/{repository}")
    } else {
        repository
    };
    ImageRef {
        registry,
        repository,
        reference,
    }
}

impl ImageRef {
    pub fn ecr(&self) -> Option<EcrRegistry> {
        if let Some(host) = self.registry.strip_suffix(".on.aws") {
            let mut parts = host.split('.');
            let (account, dkr, region) = (parts.next()?, parts.next()?, parts.next()?);
            let valid = account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && (dkr == "dkr-ecr" || dkr == "dkr-ecr-fips")
                && parts.next().is_none();
            return valid.then(|| EcrRegistry {
                account: account.to_string(),
                region: region.to_string(),
                dualstack: true,
            });
        }
        let host = self.registry.strip_suffix(".cn").unwrap_or(&self.registry);
        let host = host.strip_suffix(".amazonaws.com")?;
        let mut parts = host.split('.');
        let account = parts.next()?;
        let dkr = parts.next()?;
        let ecr = parts.next()?;
        let region = parts.next()?;
        let valid = account.len() == 12
            && account.bytes().all(|b| b.is_ascii_digit())
            && dkr == "dkr"
            && (ecr == "ecr" || ecr == "ecr-fips")
            && parts.next().is_none();
        valid.then(|| EcrRegistry {
            account: account.to_string(),
            region: region.to_string(),
            dualstack: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_hub_short_names() {
        let i = parse("nginx");
        assert_eq!(
            (
                i.registry.as_str(),
                i.repository.as_str(),
                i.reference.as_str()
            ),
            ("docker.io", "library/nginx", ":latest")
        );
        let i = parse("user/app:1.2");
        assert_eq!(
            (i.registry.as_str(), i.repository.as_str()),
            ("docker.io", "user/app")
        );
        assert_eq!(i.reference, ":1.2");
    }

    #[test]
    fn registry_with_port_and_digest() {
        let i = parse("localhost:5000/team/app@sha256:abc");
        assert_eq!(i.registry, "localhost:5000");
        assert_eq!(i.repository, "team/app");
        assert_eq!(i.reference, "@sha256:abc");
        let i = parse("registry.example.com:8443/app");
        assert_eq!(i.registry, "registry.example.com:8443");
        assert_eq!(i.reference, ":latest");
    }

    #[test]
    fn tag_and_digest_together() {
        let i = parse("nginx:1.27@sha256:abc");
        assert_eq!(i.repository, "library/nginx");
        assert_eq!(i.reference, "@sha256:abc");
    }

    #[test]
    fn ecr_uris() {
        let i = parse("123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/web:1.0");
        assert_eq!(
            i.ecr(),
            Some(EcrRegistry {
                account: "123456789012".into(),
                region: "eu-west-1".into(),
                dualstack: false,
            })
        );
        assert_eq!(i.repository, "team/web");
        let cn = parse("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/web");
        assert_eq!(cn.ecr().unwrap().region, "cn-north-1");
        assert_eq!(parse("public.ecr.aws/nginx/nginx:1").ecr(), None);
        assert_eq!(
            parse("12345.dkr.ecr.eu-west-1.amazonaws.com/web").ecr(),
            None
        );
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_text_parses_without_panicking(image in "\\PC{0,40}") {
                let parsed = parse(&image);
                let _ = parsed.ecr();
                prop_assert!(!parsed.reference.is_empty());
            }

            #[test]
            fn a_registry_repository_and_tag_come_back_apart(
                host in "[a-z]{1,8}\\.[a-z]{2,3}(:[0-9]{2,4})?",
                repo in "[a-z0-9]{1,6}(/[a-z0-9]{1,6}){0,2}",
                tag in "[A-Za-z0-9_][A-Za-z0-9_.-]{0,10}",
            ) {
                let parsed = parse(&format!("{host}/{repo}:{tag}"));
                prop_assert_eq!(parsed.registry, host);
                prop_assert_eq!(parsed.repository, repo);
                prop_assert_eq!(parsed.reference, format!(":{tag}"));
            }

            #[test]
            fn ecr_hosts_give_their_account_and_region(account in "[0-9]{12}", region in "[a-z]{2}-[a-z]{4,9}-[1-9]", repo in "[a-z]{1,8}") {
                let parsed = parse(&format!("{account}.dkr.ecr.{region}.amazonaws.com/{repo}:1"));
                let ecr = parsed.ecr().expect("an ECR registry");
                prop_assert_eq!(ecr.account, account);
                prop_assert_eq!(ecr.region, region);
                prop_assert!(!ecr.dualstack);
            }
        }
    }
}
