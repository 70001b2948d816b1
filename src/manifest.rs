//! Image manifests as ECR serves them (OCI image spec, Docker distribution spec): the
//! platforms an index offers, where a single image's config blob is, and the platform that
//! config names. Parsed here with serde: we read five stable fields, the same in the OCI and
//! Docker formats, and the OCI crates model only the OCI half.

use serde::Deserialize;

use crate::snapshot::ImagePlatform;

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
pub const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";

/// What BatchGetImage is asked to return: every format, so ECR hands back the manifest as
/// pushed instead of converting an index to one platform's manifest.
pub const ACCEPTED_MEDIA_TYPES: [&str; 5] = [
    OCI_INDEX,
    DOCKER_MANIFEST_LIST,
    OCI_MANIFEST,
    DOCKER_MANIFEST,
    DOCKER_SCHEMA1,
];

/// A config blob bigger than this is not an image config (they are a few KiB): never read it.
pub const CONFIG_LIMIT_BYTES: usize = 4 << 20;

#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// The platforms of an index or manifest list, attestation manifests left out, and how
    /// many entries name no platform.
    Index(Vec<ImagePlatform>, usize),
    /// A single image; its platform is in the config blob.
    Single { config_digest: String },
    /// A manifest with no readable platform, and why.
    Unreadable(String),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Manifest {
    schema_version: Option<u32>,
    media_type: Option<String>,
    manifests: Option<Vec<Descriptor>>,
    config: Option<ConfigDescriptor>,
}

#[derive(Deserialize)]
struct Descriptor {
    platform: Option<DescriptorPlatform>,
    #[serde(default)]
    annotations: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct DescriptorPlatform {
    os: String,
    architecture: String,
    variant: Option<String>,
    #[serde(rename = "os.version")]
    os_version: Option<String>,
}

#[derive(Deserialize)]
struct ConfigDescriptor {
    digest: String,
}

/// BuildKit marks its attestation manifests with this annotation and the platform
/// `unknown/unknown`; they hold provenance, not an image.
const REFERENCE_TYPE: &str = "vnd.docker.reference.type";

/// `media_type` is what BatchGetImage reported (`imageManifestMediaType`); the manifest's own
/// `mediaType` field is the fallback, then its shape.
pub fn parse(media_type: Option<&str>, body: &str) -> Parsed {
    let manifest: Manifest = match serde_json::from_str(body) {
        Ok(m) => m,
        Err(e) => return Parsed::Unreadable(format!("the manifest is not valid JSON ({e})")),
    };
    let media_type = media_type
        .map(str::to_string)
        .or(manifest.media_type.clone())
        .unwrap_or_default();
    if manifest.schema_version == Some(1)
        || media_type == DOCKER_SCHEMA1
        || media_type == DOCKER_SCHEMA1_SIGNED
    {
        return Parsed::Unreadable(
            "it is a Docker schema 1 manifest, which names no OS and which current container runtimes no longer pull".into(),
        );
    }
    let index = media_type == OCI_INDEX || media_type == DOCKER_MANIFEST_LIST;
    match (&manifest.manifests, &manifest.config) {
        (Some(entries), _) if index || media_type.is_empty() => {
            let images: Vec<&Descriptor> = entries
                .iter()
                .filter(|d| {
                    d.annotations.get(REFERENCE_TYPE).map(String::as_str)
                        != Some("attestation-manifest")
                })
                .collect();
            let platforms = images
                .iter()
                .filter_map(|d| d.platform.as_ref())
                .filter(|p| !(p.os == "unknown" && p.architecture == "unknown"))
                .map(|p| ImagePlatform {
                    os: p.os.clone(),
                    architecture: p.architecture.clone(),
                    variant: p.variant.clone(),
                    os_version: p.os_version.clone(),
                })
                .collect();
            let unlabeled = images.iter().filter(|d| d.platform.is_none()).count();
            Parsed::Index(platforms, unlabeled)
        }
        (_, Some(config)) if !index => Parsed::Single {
            config_digest: config.digest.clone(),
        },
        _ => Parsed::Unreadable(format!(
            "its media type {} is neither an image index nor an image manifest",
            if media_type.is_empty() {
                "(none)"
            } else {
                &media_type
            }
        )),
    }
}

#[derive(Deserialize)]
struct Config {
    os: Option<String>,
    architecture: Option<String>,
    variant: Option<String>,
    #[serde(rename = "os.version")]
    os_version: Option<String>,
}

/// The platform an image config blob names (`os`, `architecture`, `variant`, `os.version`).
pub fn config_platform(body: &[u8]) -> Result<ImagePlatform, String> {
    let config: Config = serde_json::from_slice(body)
        .map_err(|e| format!("the image config is not valid JSON ({e})"))?;
    match (config.os, config.architecture) {
        (Some(os), Some(architecture)) => Ok(ImagePlatform {
            os,
            architecture,
            variant: config.variant,
            os_version: config.os_version,
        }),
        _ => Err("the image config names no os and architecture".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn platform(os: &str, architecture: &str) -> ImagePlatform {
        ImagePlatform {
            os: os.into(),
            architecture: architecture.into(),
            variant: None,
            os_version: None,
        }
    }

    #[test]
    fn an_index_lists_its_platforms_without_attestations() {
        let body = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
            {"digest":"sha256:a","platform":{"architecture":"arm64","os":"linux","variant":"v8"}},
            {"digest":"sha256:b","platform":{"architecture":"unknown","os":"unknown"},
             "annotations":{"vnd.docker.reference.type":"attestation-manifest"}},
            {"digest":"sha256:c","platform":{"architecture":"amd64","os":"windows","os.version":"10.0.20348.2527"}}]}"#;
        let Parsed::Index(platforms, unlabeled) = parse(None, body) else {
            panic!("an index")
        };
        assert_eq!((platforms.len(), unlabeled), (2, 0));
        assert_eq!(platforms[0].variant.as_deref(), Some("v8"));
        assert_eq!(platforms[1].os_version.as_deref(), Some("10.0.20348.2527"));
    }

    #[test]
    fn index_entries_without_a_platform_are_counted_not_dropped() {
        let body = r#"{"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"digest":"sha256:a"}]}"#;
        assert_eq!(parse(None, body), Parsed::Index(vec![], 1));
    }

    #[test]
    fn a_single_manifest_points_at_its_config() {
        let body = r#"{"schemaVersion":2,"config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:cfg","size":10},"layers":[]}"#;
        assert_eq!(
            parse(Some(DOCKER_MANIFEST), body),
            Parsed::Single {
                config_digest: "sha256:cfg".into()
            }
        );
    }

    #[test]
    fn schema_1_and_garbage_are_unreadable_not_a_platform() {
        let schema1 =
            r#"{"schemaVersion":1,"name":"app","tag":"v1","architecture":"amd64","fsLayers":[]}"#;
        assert!(matches!(parse(None, schema1), Parsed::Unreadable(_)));
        assert!(matches!(
            parse(Some(OCI_MANIFEST), "{"),
            Parsed::Unreadable(_)
        ));
        assert!(matches!(
            parse(Some(OCI_INDEX), r#"{"config":{"digest":"sha256:x"}}"#),
            Parsed::Unreadable(_)
        ));
    }

    #[test]
    fn config_blobs_name_their_platform() {
        let body = br#"{"architecture":"arm64","os":"linux","variant":"v8","rootfs":{}}"#;
        let mut want = platform("linux", "arm64");
        want.variant = Some("v8".into());
        assert_eq!(config_platform(body), Ok(want));
        assert!(config_platform(br#"{"rootfs":{}}"#).is_err());
    }
}
