//! Compiles every .proto under `proto/` with protox (pure Rust, no system protoc) and writes the
//! encoded file descriptor set beside the generated code, for gRPC reflection.

use std::{env, fs, path::PathBuf};

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let mut files = Vec::new();
    collect(&root.join("rapport"), &mut files)?;
    files.sort();
    println!("cargo:rerun-if-changed={}", root.display());

    let fds = protox::compile(&files, [&root])?;
    let out = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(out.join("rapport_descriptor.bin"), fds.encode_to_vec())?;
    let mut config = prost_build::Config::new();
    // Every message knows its full name (`prost::Name`): events are typed by their payload.
    config.enable_type_names();
    tonic_prost_build::configure()
        // Maps encode in key order, so equal messages encode to equal bytes: a request's
        // fingerprint (which makes request ids safe to reuse only for the same request) is a hash
        // of its encoding.
        .btree_map(".")
        // Requests that do not decode are the caller's mistake: see `codec.rs`.
        .codec_path("crate::codec::Codec")
        .build_client(true)
        .build_server(true)
        .compile_fds_with_config(fds, config)?;
    Ok(())
}

fn collect(dir: &std::path::Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            println!("cargo:rerun-if-changed={}", path.display());
            collect(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "proto") {
            files.push(path);
        }
    }
    Ok(())
}
