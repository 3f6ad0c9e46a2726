//! bpftrace 0.17's text and JSON for histograms, strings and the attach line, without a
//! kernel.

use ktrace::output::{self, Format};

#[test]
fn histogram_rows_as_bpftrace_prints_them() {
    // bucket 1 is zero, bucket 2 is 1, bucket 4 is [4, 8)
    let mut v = vec![0u64; 65];
    v[1] = 2;
    v[4] = 4;
    let text = output::hist_to_str(&v, 1);
    let expected = "\
[0]                    2 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |
[1]                    0 |                                                    |
[2, 4)                 0 |                                                    |
[4, 8)                 4 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
";
    assert_eq!(text, expected);
    assert_eq!(
        output::hist_to_json(&v, 1),
        r#"[{"min": 0, "max": 0, "count": 2}, {"min": 1, "max": 1, "count": 0}, {"min": 2, "max": 3, "count": 0}, {"min": 4, "max": 7, "count": 4}]"#
    );
    let mut l = vec![0u64; 13];
    l[0] = 1;
    l[11] = 1;
    assert_eq!(
        output::lhist_to_str(&l, 0, 1024, 100)
            .lines()
            .last()
            .unwrap(),
        "[1K, ...)              1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|"
    );
}

#[test]
fn json_strings_are_escaped_like_bpftrace() {
    assert_eq!(
        output::json_escape("a\"b\\c\nd\te\u{1}"),
        "a\\\"b\\\\c\\nd\\te\\u0001"
    );
    assert_eq!(
        output::attaching(2, Format::Json),
        "{\"type\": \"attached_probes\", \"data\": {\"probes\": 2}}\n"
    );
    assert_eq!(output::attaching(1, Format::Text), "Attaching 1 probe...\n");
}
