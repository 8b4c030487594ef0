//! `O_NONBLOCK` must not be left on inherited stdin/stdout (issue "hardening" item 15): the flag
//! belongs to the open file description the parent shares, so the parent's next write would
//! fail with `EAGAIN`. The test keeps its own descriptors of the very pipes it hands the real
//! server and reads their flags (`/proc/self/fdinfo`) while and after the server runs.

use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsRawFd;
use std::process::Stdio;

const O_NONBLOCK: u32 = 0o4000;

/// The `flags:` of our descriptor `fd`, as in `/proc/self/fdinfo/<fd>` (octal).
fn flags(fd: &impl AsRawFd) -> u32 {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd())).unwrap();
    let octal = info
        .lines()
        .find_map(|line| line.strip_prefix("flags:"))
        .expect("flags line")
        .trim();
    u32::from_str_radix(octal, 8).unwrap()
}

#[test]
fn the_parents_pipes_are_left_blocking_while_and_after_the_server_runs() {
    let home = tempfile::tempdir().unwrap();
    let (input_read, mut input_write) = std::io::pipe().unwrap();
    let (output_read, output_write) = std::io::pipe().unwrap();
    // Our own descriptors of the child's ends: the same open file descriptions.
    let child_input = input_read.try_clone().unwrap();
    let child_output = output_write.try_clone().unwrap();
    assert_eq!(flags(&input_read) & O_NONBLOCK, 0);
    assert_eq!(flags(&output_write) & O_NONBLOCK, 0);
    let mut child = crate::support::launcher::app_server_std()
        .env("CODEX_HOME", home.path())
        .env("HOME", home.path())
        .stdin(child_input)
        .stdout(child_output)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut answers = BufReader::new(output_read);
    writeln!(
        input_write,
        r#"{{"id":0,"method":"initialize","params":{{"clientInfo":{{"name":"t","version":"1"}}}}}}"#
    )
    .unwrap();
    let mut line = String::new();
    answers.read_line(&mut line).unwrap();
    assert!(line.contains(r#""id":0"#), "{line}");
    // The server is serving from these pipes now.
    assert_eq!(
        flags(&input_read) & O_NONBLOCK,
        0,
        "stdin's description stays blocking"
    );
    assert_eq!(
        flags(&output_write) & O_NONBLOCK,
        0,
        "stdout's description stays blocking"
    );
    writeln!(
        input_write,
        r#"{{"id":1,"method":"getAuthStatus","params":{{}}}}"#
    )
    .unwrap();
    line.clear();
    answers.read_line(&mut line).unwrap();
    assert!(line.contains(r#""id":1"#), "{line}");
    drop(input_write);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    assert_eq!(flags(&input_read) & O_NONBLOCK, 0, "after exit: stdin");
    assert_eq!(flags(&output_write) & O_NONBLOCK, 0, "after exit: stdout");
}
