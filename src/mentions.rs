//! @mentions in the team's notes: who a note names (the server reads it
//! when it stores the note) and completing a name as the agent types `@an`
//! (the composer). Both sides use this, so they agree on what a mention is:
//! an `@` at the start or after a space or punctuation, then a teammate's
//! name, then the end of a word.

/// Longest text after an `@` that is still being completed as a name.
const MAX_TYPED: usize = 40;

/// The teammates a note names: each whose `@Name` is in it, whatever the
/// case, ending where a word ends. Where one name starts another ("Ana",
/// "Ana Silva"), the longest one written is meant.
pub fn mentioned<'a, T: Copy + PartialEq>(
    body: &str,
    team: impl IntoIterator<Item = (T, &'a str)>,
) -> Vec<T> {
    if !body.contains('@') {
        return Vec::new();
    }
    let text = body.to_lowercase();
    // (where, how long, who) of each name found.
    let mut found: Vec<(usize, usize, T)> = Vec::new();
    for (who, name) in team {
        let name = name.trim().to_lowercase();
        if name.is_empty() {
            continue;
        }
        let needle = format!("@{name}");
        let mut from = 0;
        while let Some(at) = text[from..].find(&needle).map(|i| i + from) {
            let end = at + needle.len();
            // `@name` on its own, not inside an address (ana@ben.io).
            let word_starts = text[..at]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_alphanumeric());
            let word_ends = text[end..]
                .chars()
                .next()
                .is_none_or(|c| !c.is_alphanumeric());
            if word_starts && word_ends {
                found.push((at, needle.len(), who));
            }
            from = end;
        }
    }
    let mut people = Vec::new();
    for &(at, len, who) in &found {
        let longer_here = found.iter().any(|&(a, l, _)| a == at && l > len);
        if !longer_here && !people.contains(&who) {
            people.push(who);
        }
    }
    people
}

/// The name being typed at the end of `text`: where its `@` is and what
/// follows it ("Hi @an" → (3, "an")). An `@` counts at the start or after
/// a space or punctuation (not in an email address).
pub fn typed_mention(text: &str) -> Option<(usize, &str)> {
    let at = text.rfind('@')?;
    let before_ok = text[..at]
        .chars()
        .next_back()
        .is_none_or(|c| !c.is_alphanumeric());
    let typed = &text[at + 1..];
    let fits = typed.chars().count() <= MAX_TYPED
        && !typed.contains('\n')
        && !typed.starts_with(' ')
        && !typed.contains("  ");
    (before_ok && fits).then_some((at, typed))
}

/// Whether a teammate's name fits what was typed after the `@`: the name
/// or one of its words starts with it.
pub fn name_fits(name: &str, typed: &str) -> bool {
    let (name, typed) = (name.to_lowercase(), typed.to_lowercase());
    name.starts_with(&typed) || name.split_whitespace().any(|w| w.starts_with(&typed))
}

/// `text` with the name being typed at `at` completed to `@name `.
pub fn complete(text: &str, at: usize, name: &str) -> String {
    format!("{}@{name} ", &text[..at])
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEAM: [(i64, &str); 3] = [(1, "Ana"), (2, "Ana Silva"), (3, "Ben")];

    #[test]
    fn a_note_names_whom_it_mentions_and_no_one_else() {
        assert_eq!(mentioned("@ben can you look?", TEAM), vec![3]);
        assert_eq!(mentioned("ask @Ana Silva and @BEN.", TEAM), vec![2, 3]);
        assert_eq!(mentioned("@Ana, thanks", TEAM), vec![1]);
        assert!(mentioned("write to ben@example.com", TEAM).is_empty());
        assert!(mentioned("mail ana@ben.io", TEAM).is_empty(), "an address");
        assert!(mentioned("@Benjamin is not on the team", TEAM).is_empty());
        assert!(mentioned("no at sign", TEAM).is_empty());
        assert_eq!(mentioned("@ben @ben", TEAM), vec![3], "once each");
    }

    #[test]
    fn the_name_being_typed_is_found_and_completed() {
        assert_eq!(typed_mention("Hi @an"), Some((3, "an")));
        assert_eq!(typed_mention("@"), Some((0, "")));
        assert_eq!(typed_mention("@Ana S"), Some((0, "Ana S")));
        assert_eq!(typed_mention("mail ana@example.com"), None);
        assert_eq!(typed_mention("@ana  done"), None);
        assert_eq!(typed_mention("no mention"), None);
        assert!(name_fits("Ana Silva", "sil"));
        assert!(!name_fits("Ben", "an"));
        assert_eq!(complete("Hi @an", 3, "Ana Silva"), "Hi @Ana Silva ");
    }
}
