//! Helpers shared by unit tests: the Nix files of testdata, and a small
//! deterministic source of pseudo-random numbers for generated inputs.

/// The text of every `.nix` file under `testdata/<dir>`, in walk order.
pub fn testdata_nix_sources(dir: &str) -> Vec<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(dir);
    let mut sources = Vec::new();
    for entry in walkdir::WalkDir::new(root) {
        let entry = entry.expect("testdata is readable");
        if entry.path().extension().is_some_and(|e| e == "nix") {
            sources.push(std::fs::read_to_string(entry.path()).expect("testdata is UTF-8"));
        }
    }
    sources
}

/// xorshift64: each call `next(n)` gives a number below `n`; the same seed
/// gives the same sequence.
pub fn xorshift(mut seed: u64) -> impl FnMut(u64) -> u64 {
    move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    }
}
