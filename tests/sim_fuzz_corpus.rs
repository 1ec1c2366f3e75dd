//! Runs the `rule_tree` fuzz target's body over its seed corpus, so the target's code is
//! compiled and checked without cargo-fuzz.

#[path = "../fuzz/fuzz_targets/rule_tree_check.rs"]
mod rule_tree_check;

#[test]
fn fuzz_corpus_passes() {
    let dir = std::path::Path::new(file!())
        .parent()
        .map(|p| p.join("../fuzz/seeds/rule_tree"))
        .unwrap_or_default();
    let mut n = 0;
    for entry in std::fs::read_dir(dir).expect("corpus dir") {
        let data = std::fs::read(entry.expect("entry").path()).expect("read");
        rule_tree_check::check(&data);
        n += 1;
    }
    assert!(n >= 5);
    // A few hostile shapes as well.
    for s in [
        "",
        "\u{0}null",
        "\u{1}[]",
        "\u{2}{\"version\":2,\"rules\":[{}]}",
    ] {
        rule_tree_check::check(s.as_bytes());
    }
}
