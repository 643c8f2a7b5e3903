//! `load-urls` end to end: the built binary against servers on 127.0.0.1 started here.

mod common;

use std::net::TcpListener;
use std::thread;

use cfutures_demos::server::{LocalServer, SEED_PAGE_SIZES};
use common::{assert_help, assert_usage_error, assert_version, run};

const BIN: &str = env!("CARGO_BIN_EXE_load-urls");

/// A URL on 127.0.0.1 where nothing listens (the port was just bound and released).
fn refused_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}/")
}

#[test]
fn prints_the_byte_count_of_each_page_and_an_exception_for_a_failing_url() {
    let server = LocalServer::start().unwrap();
    let pages: Vec<String> = SEED_PAGE_SIZES
        .iter()
        .map(|&n| server.page_url(n))
        .collect();
    let failing = server.url("/status-500");
    let mut args: Vec<&str> = pages.iter().map(String::as_str).collect();
    args.push(&failing);

    let out = run(BIN, &args);
    assert_eq!(out.code, Some(0), "{out:?}");
    let mut expected: Vec<String> = SEED_PAGE_SIZES
        .iter()
        .zip(&pages)
        .map(|(n, url)| format!("'{url}' page is {n} bytes"))
        .collect();
    expected.push(format!(
        "'{failing}' generated an exception: HTTP Error 500: Internal Server Error"
    ));
    expected.sort();
    assert_eq!(out.sorted_lines(), expected);
    assert_eq!(
        out.stderr, "",
        "no progress bar when stderr is not a terminal"
    );
}

#[test]
fn an_unreachable_host_gives_an_exception_line_not_a_crash() {
    let server = LocalServer::start().unwrap();
    let refused = refused_url();
    let page = server.page_url(10);
    let out = run(BIN, &[&refused, "http://[::1/", &page]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let lines = out.sorted_lines();
    assert_eq!(lines.len(), 3, "{out:?}");
    assert!(
        lines.contains(&format!("'{page}' page is 10 bytes").as_str()),
        "{lines:?}"
    );
    let refused_line = lines
        .iter()
        .find(|l| l.starts_with(&format!("'{refused}' generated an exception: ")))
        .unwrap_or_else(|| panic!("no exception line for {refused}: {lines:?}"));
    assert!(refused_line.contains("refused"), "{refused_line}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("'http://[::1/' generated an exception: ")),
        "a malformed URL is an exception line too: {lines:?}"
    );
}

#[test]
fn a_silent_server_is_given_up_on_after_the_timeout() {
    // Accepts connections and never answers; keeps them open until the test ends.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            held.push(conn);
        }
    });
    let out = run(BIN, &["--timeout", "0.3", &url]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let line = out.stdout.trim_end();
    assert!(
        line.starts_with(&format!("'{url}' generated an exception: timeout")),
        "{line}"
    );
}

#[test]
fn serve_local_reproduces_the_seed_run_offline() {
    let out = run(BIN, &["--serve-local"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let mut sizes: Vec<u64> = Vec::new();
    let mut exceptions = Vec::new();
    for line in out.stdout.lines() {
        assert!(line.starts_with("'http://127.0.0.1:"), "{line}");
        if let Some((_, tail)) = line.split_once("' page is ") {
            sizes.push(tail.strip_suffix(" bytes").unwrap().parse().unwrap());
        } else {
            exceptions.push(line);
        }
    }
    sizes.sort_unstable();
    assert_eq!(sizes, [71014, 137387, 230981, 949327]);
    assert_eq!(exceptions.len(), 1, "{exceptions:?}");
    assert!(
        exceptions[0].ends_with("' generated an exception: HTTP Error 404: Not Found"),
        "{exceptions:?}"
    );
}

#[test]
fn urls_can_come_from_a_file_and_duplicates_are_each_loaded() {
    let server = LocalServer::start().unwrap();
    let dir = std::env::temp_dir().join(format!("cfutures-demos-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("urls.txt");
    let (a, b) = (server.page_url(3), server.page_url(4));
    std::fs::write(&file, format!("# two pages\n{a}\n\n  {b}  \n")).unwrap();
    let out = run(BIN, &["--workers=2", "--file", file.to_str().unwrap(), &a]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(out.code, Some(0), "{out:?}");
    let mut expected = vec![
        format!("'{a}' page is 3 bytes"),
        format!("'{a}' page is 3 bytes"),
        format!("'{b}' page is 4 bytes"),
    ];
    expected.sort();
    assert_eq!(out.sorted_lines(), expected);
}

#[test]
fn a_missing_file_is_an_error_with_a_message() {
    let out = run(BIN, &["--file", "/nonexistent/cfutures-urls.txt"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr
            .contains("cannot read /nonexistent/cfutures-urls.txt"),
        "{}",
        out.stderr
    );
}

#[test]
fn bad_flags_are_usage_errors_with_exit_2() {
    for (args, culprit) in [
        (&["--bogus"][..], "'--bogus'"),
        (&["--workers", "0"], "must be at least 1"),
        (&["--workers", "many"], "'many'"),
        (&["--timeout"], "'--timeout <SECS>'"),
        (&["--timeout", "-1"], "must be a positive number of seconds"),
        (&["--timeout=nan"], "must be a positive number of seconds"),
        (&["--serve-local=yes"], "'yes'"),
        (&["--serve-local", "http://x/"], "cannot be used with"),
        (&["--serve-local", "-f", "urls.txt"], "cannot be used with"),
    ] {
        assert_usage_error(&run(BIN, args), culprit);
    }
}

#[test]
fn help_and_version_print_on_stdout_and_exit_0() {
    for flag in ["--help", "-h"] {
        assert_help(&run(BIN, &[flag]), "load-urls");
    }
    assert_version(&run(BIN, &["--version"]), "load-urls");
}
