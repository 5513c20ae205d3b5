//! The comments of the protos, from the descriptors' source info, to describe operations,
//! schemas and fields.

use std::collections::HashMap;

use prost_reflect::DescriptorPool;

/// Leading comments by file and descriptor path.
#[derive(Debug, Default)]
pub struct Comments {
    by_path: HashMap<(String, Vec<i32>), String>,
}

impl Comments {
    /// Every leading comment in `pool`.
    pub fn new(pool: &DescriptorPool) -> Self {
        let mut by_path = HashMap::new();
        for file in pool.files() {
            let proto = file.file_descriptor_proto();
            let Some(info) = &proto.source_code_info else {
                continue;
            };
            for location in &info.location {
                let text = tidy(location.leading_comments());
                if !text.is_empty() {
                    by_path.insert((proto.name().to_owned(), location.path.clone()), text);
                }
            }
        }
        Self { by_path }
    }

    /// The comment of the descriptor at `path` in `file`.
    pub fn of(&self, file: &str, path: &[i32]) -> Option<&str> {
        self.by_path
            .get(&(file.to_owned(), path.to_vec()))
            .map(String::as_str)
    }
}

/// The comment's lines joined into paragraphs.
fn tidy(comment: &str) -> String {
    comment
        .split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}
