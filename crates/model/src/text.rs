//! Text from sources (any repository, any cloud's names) made safe for the reader it goes to:
//! a terminal and a spreadsheet run what they are handed.

/// `s` with everything a terminal would act on removed: ANSI escape sequences (CSI, OSC and
/// two-byte escapes), other control characters (C0 but tab, DEL, C1) and the bidirectional
/// overrides that make text read differently from what it is.
pub fn for_terminal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape(&mut chars),
            '\t' => out.push(' '),
            c if c.is_control() || is_bidi_control(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// Each line of `s` made safe for a terminal (see [`for_terminal`]), line breaks kept.
pub fn for_terminal_lines(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for line in s.lines() {
        out.push_str(&for_terminal(line));
        out.push('\n');
    }
    out
}

/// Consume the rest of an escape sequence after ESC.
fn skip_escape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    match chars.next() {
        // CSI: parameters and intermediates, then one final byte in @..~.
        Some('[') => {
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        }
        // OSC (title, hyperlink): up to BEL or ST (ESC \).
        Some(']') => {
            while let Some(c) = chars.next() {
                if c == '\u{7}' {
                    break;
                }
                if c == '\u{1b}' && chars.peek() == Some(&'\\') {
                    chars.next();
                    break;
                }
            }
        }
        // A two-byte escape: the second byte is dropped with it.
        _ => {}
    }
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// A CSV cell a spreadsheet will not run: a leading `=`, `+`, `-`, `@`, tab or carriage return
/// is neutralised with a leading `'` (OWASP's CSV injection guidance), then the cell is quoted
/// when it holds a separator, a quote or a line break.
pub fn csv_cell(s: &str) -> String {
    let neutral = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if neutral.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", neutral.replace('"', "\"\""))
    } else {
        neutral
    }
}

/// Text for a Markdown table cell: `|` escaped, line breaks as spaces.
pub fn markdown_cell(s: &str) -> String {
    s.replace('|', "\\|")
        .replace("\r\n", " ")
        .replace(['\n', '\r'], " ")
}

/// A Markdown code span holding `s` verbatim, whatever backticks it contains (the fence is
/// one backtick longer than its longest run, as CommonMark allows); safe in a table cell.
pub fn markdown_code(s: &str) -> String {
    let cell = markdown_cell(s);
    let longest = cell.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    if longest > 0 {
        format!("{fence} {cell} {fence}")
    } else {
        format!("{fence}{cell}{fence}")
    }
}

/// One argument for a POSIX shell: as is when it holds only safe characters, else in single
/// quotes (a `'` inside as `'\''`).
pub fn shell_word(arg: &str) -> String {
    let safe = !arg.is_empty()
        && arg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_./:=@%+,-".contains(&b));
    if safe {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}

/// A command line for a POSIX shell, or `None` when an argument holds a control character
/// (a line break would end a commented-out line and make the rest live).
pub fn shell_command(argv: &[String]) -> Option<String> {
    if argv.iter().any(|a| a.chars().any(char::is_control)) {
        return None;
    }
    Some(
        argv.iter()
            .map(|a| shell_word(a))
            .collect::<Vec<_>>()
            .join(" "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_text_loses_escapes_controls_and_bidi_overrides() {
        assert_eq!(for_terminal("\u{1b}[31mred\u{1b}[0m"), "red");
        assert_eq!(
            for_terminal("a\u{1b}]8;;http://evil\u{7}link\u{1b}]8;;\u{1b}\\b"),
            "alinkb"
        );
        assert_eq!(for_terminal("x\u{1b}cy"), "xy");
        assert_eq!(for_terminal("line\r\nnext\u{0}\u{7f}\u{9b}"), "linenext");
        assert_eq!(for_terminal("evil\u{202e}txt.exe"), "eviltxt.exe");
        assert_eq!(for_terminal("tab\there"), "tab here");
        assert_eq!(for_terminal("plain ünïcode"), "plain ünïcode");
        assert_eq!(for_terminal_lines("a\u{1b}[2Jb\nc\n"), "ab\nc\n");
    }

    #[test]
    fn csv_cells_never_start_a_formula() {
        assert_eq!(
            csv_cell("=HYPERLINK(\"http://x\")"),
            "\"'=HYPERLINK(\"\"http://x\"\")\""
        );
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("-2"), "'-2");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("\tx"), "'\tx");
        assert_eq!(csv_cell("\rx"), "\"'\rx\"");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("safe"), "safe");
    }

    #[test]
    fn markdown_cells_keep_the_table_whole() {
        assert_eq!(markdown_cell("a|b\r\nc\nd"), "a\\|b c d");
        assert_eq!(markdown_code("id"), "`id`");
        assert_eq!(markdown_code("a`b"), "`` a`b ``");
        assert_eq!(markdown_code("x``y|z"), "``` x``y\\|z ```");
    }

    #[test]
    fn shell_commands_quote_what_a_shell_would_read() {
        let argv = |v: &[&str]| v.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        assert_eq!(
            shell_command(&argv(&[
                "aws",
                "iam",
                "delete-user",
                "--user-name",
                "acme-sync"
            ]))
            .unwrap(),
            "aws iam delete-user --user-name acme-sync"
        );
        assert_eq!(
            shell_command(&argv(&["gh", "api", "x$(rm -rf ~)", "it's"])).unwrap(),
            "gh api 'x$(rm -rf ~)' 'it'\\''s'"
        );
        assert_eq!(shell_command(&argv(&["az", ""])).unwrap(), "az ''");
        assert_eq!(
            shell_command(&argv(&["az", "a\nrm -rf /"])),
            None,
            "a line break is withheld"
        );
    }
}
