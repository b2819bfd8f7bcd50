//! Maps positions QuickJS reports in the wrapped program back to the source
//! the host sent (the wrapper adds one line before it), and keeps a stack to
//! the program's own frames (and its skills'): the prelude's frames say nothing
//! to its author. A skill's module is not wrapped, so its lines stay as they are.

use crate::PROGRAM_FILE;

/// Rewrites every `main.ts:LINE` in `text` to the line of the unwrapped source.
pub fn unwrap_lines(text: &str) -> String {
    let marker = format!("{PROGRAM_FILE}:");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(found) = rest.find(&marker) {
        let (before, after) = rest.split_at(found + marker.len());
        out.push_str(before);
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        match after[..digits].parse::<u64>() {
            Ok(line) => out.push_str(&line.saturating_sub(1).max(1).to_string()),
            Err(_) => out.push_str(&after[..digits]),
        }
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

/// The frames of `stack` that are in the program or a skill, with unwrapped lines.
pub fn program_stack(stack: &str) -> String {
    let frames: Vec<&str> = stack.lines().filter(|frame| conventions::is_user_frame(frame)).collect();
    unwrap_lines(&frames.join("\n"))
}
