//! Container image layers on the host's disk (Docker's overlay2, Podman's
//! overlay, containerd's overlayfs snapshots): where they are, and which
//! image or container each one belongs to, as far as the engines' own
//! metadata says. A key baked into an image is on every host that runs it.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::escape;
use crate::hostfs::{FileText, Files};

/// The directories that hold layers, relative to the host root.
pub const LAYER_DIRS: &[&str] = &[
    "var/lib/docker/overlay2",
    "var/lib/containers/storage/overlay",
    "var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots",
];

const DOCKER_IMAGE: &str = "var/lib/docker/image/overlay2";

/// Which image or container each layer directory belongs to.
#[derive(Debug, Default)]
pub struct Layers {
    /// Docker overlay2 directory name → what it is.
    docker: HashMap<String, String>,
}

impl Layers {
    /// Reads Docker's layer and image metadata under the host root (Podman's
    /// and containerd's layers are named by their IDs alone).
    pub fn load(files: &Files) -> Layers {
        let mut layers = Layers::default();
        let base = Path::new("/").join(DOCKER_IMAGE);
        let text = |p: &Path| match files.read(p) {
            FileText::Text(t) => Some(t.trim().to_string()),
            _ => None,
        };
        // Layer chain ID → overlay2 directory.
        let mut dir_of_chain: HashMap<String, String> = HashMap::new();
        for chain in list(files, &base.join("layerdb/sha256")) {
            if let Some(dir) = text(&base.join("layerdb/sha256").join(&chain).join("cache-id")) {
                dir_of_chain.insert(format!("sha256:{chain}"), dir);
            }
        }
        // Image ID → its names.
        let mut names: HashMap<String, Vec<String>> = HashMap::new();
        if let Some(repos) = text(&base.join("repositories.json")).and_then(|t| serde_json::from_str::<Value>(&t).ok())
        {
            for (_, tags) in repos["Repositories"].as_object().into_iter().flatten() {
                for (tag, id) in tags.as_object().into_iter().flatten() {
                    if let Some(id) = id.as_str() {
                        names.entry(id.to_string()).or_default().push(tag.clone());
                    }
                }
            }
        }
        // Each image's layers, bottom first: chain IDs from its diff IDs.
        for image in list(files, &base.join("imagedb/content/sha256")) {
            let Some(config) = text(&base.join("imagedb/content/sha256").join(&image))
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            else {
                continue;
            };
            let id = format!("sha256:{image}");
            let mut tags = names.get(&id).cloned().unwrap_or_default();
            tags.sort();
            let name = tags.first().cloned().unwrap_or_else(|| escape::prefix(&image, 12).to_string());
            let diffs: Vec<&str> =
                config["rootfs"]["diff_ids"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            let mut chain = String::new();
            for (i, diff) in diffs.iter().enumerate() {
                chain = if i == 0 {
                    diff.to_string()
                } else {
                    let digest = Sha256::digest(format!("{chain} {diff}").as_bytes());
                    format!("sha256:{}", digest.iter().map(|b| format!("{b:02x}")).collect::<String>())
                };
                if let Some(dir) = dir_of_chain.get(&chain) {
                    layers
                        .docker
                        .entry(dir.clone())
                        .or_insert_with(|| format!("docker image {name} (layer {} of {})", i + 1, diffs.len()));
                }
            }
        }
        // Containers' writable layers.
        for container in list(files, &base.join("layerdb/mounts")) {
            if let Some(dir) = text(&base.join("layerdb/mounts").join(&container).join("mount-id")) {
                let who = format!("docker container {} (its writable layer)", escape::prefix(&container, 12));
                layers.docker.insert(format!("{dir}-init"), who.clone());
                layers.docker.insert(dir, who);
            }
        }
        layers
    }

    /// What the layer holding `path` (as the host sees it) belongs to.
    pub fn attribute(&self, path: &Path) -> Option<String> {
        for dir in LAYER_DIRS {
            let Ok(rest) = path.strip_prefix(Path::new("/").join(dir)) else { continue };
            let Some(Component::Normal(id)) = rest.components().next() else { continue };
            let id = id.to_string_lossy();
            let short = escape::prefix(&id, 12);
            return Some(match *dir {
                "var/lib/docker/overlay2" => {
                    self.docker.get(id.as_ref()).cloned().unwrap_or_else(|| format!("docker image layer {short}"))
                }
                "var/lib/containers/storage/overlay" => format!("podman image layer {short}"),
                _ => format!("containerd snapshot {short}"),
            });
        }
        None
    }
}

/// The names in a directory (as the process sees it, inside the host root).
fn list(files: &Files, dir: &Path) -> Vec<String> {
    let Some(real) = files.resolve(dir) else { return Vec::new() };
    let Ok(entries) = std::fs::read_dir(real) else { return Vec::new() };
    let mut out: Vec<String> = entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    out.sort();
    out
}

/// The layer directories to walk, as the host sees them.
pub fn roots() -> Vec<PathBuf> {
    LAYER_DIRS.iter().map(|d| Path::new("/").join(d)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_layers_are_named_by_image_and_container() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let write = |rel: &str, text: &str| {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        let (d1, d2) = ("sha256:".to_string() + &"1".repeat(64), "sha256:".to_string() + &"2".repeat(64));
        let c2 = Sha256::digest(format!("{d1} {d2}").as_bytes()).iter().map(|b| format!("{b:02x}")).collect::<String>();
        let img = "a".repeat(64);
        write(&format!("{DOCKER_IMAGE}/layerdb/sha256/{}/cache-id", &d1[7..]), "lowerdir");
        write(&format!("{DOCKER_IMAGE}/layerdb/sha256/{c2}/cache-id"), "upperdir\n");
        write(
            &format!("{DOCKER_IMAGE}/imagedb/content/sha256/{img}"),
            &format!("{{\"rootfs\":{{\"diff_ids\":[\"{d1}\",\"{d2}\"]}}}}"),
        );
        write(
            &format!("{DOCKER_IMAGE}/repositories.json"),
            &format!("{{\"Repositories\":{{\"app\":{{\"app:1.2\":\"sha256:{img}\"}}}}}}"),
        );
        write(&format!("{DOCKER_IMAGE}/layerdb/mounts/{}/mount-id", "c".repeat(64)), "rwdir");
        let layers = Layers::load(&Files::new(&root));
        let at = |p: &str| layers.attribute(Path::new(p));
        assert_eq!(
            at("/var/lib/docker/overlay2/upperdir/diff/app/.env").as_deref(),
            Some("docker image app:1.2 (layer 2 of 2)")
        );
        assert_eq!(
            at("/var/lib/docker/overlay2/lowerdir/diff/etc/x").as_deref(),
            Some("docker image app:1.2 (layer 1 of 2)")
        );
        assert_eq!(
            at("/var/lib/docker/overlay2/rwdir/diff/tmp/x").as_deref(),
            Some("docker container cccccccccccc (its writable layer)")
        );
        assert_eq!(
            at("/var/lib/docker/overlay2/0123456789abcdef/diff/x").as_deref(),
            Some("docker image layer 0123456789ab")
        );
        assert_eq!(
            at("/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/17/fs/x").as_deref(),
            Some("containerd snapshot 17")
        );
        assert_eq!(at("/etc/environment"), None);
    }
}
