//! A round avatar with the person's initials.

use leptos::prelude::*;

/// Initials of a display name: "Ana Lopez" → "AL", "Visitor #12" → "V".
pub fn initials(name: &str) -> String {
    let letters: String = name
        .split_whitespace()
        .filter_map(|word| word.chars().next())
        .filter(|c| c.is_alphanumeric())
        .take(2)
        .collect();
    if letters.is_empty() {
        "?".into()
    } else {
        letters.to_uppercase()
    }
}

/// A stable colour (0–7) for a name, so each person keeps theirs.
fn hue(name: &str) -> u32 {
    name.bytes()
        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
        % 8
}

/// An avatar for `name`, decorative (the name is always shown next to it).
#[component]
pub fn Avatar(#[prop(into)] name: String, #[prop(optional)] kind: &'static str) -> impl IntoView {
    let class = format!("avatar avatar-{kind} hue-{}", hue(&name));
    view! { <span class=class aria-hidden="true">{initials(&name)}</span> }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_of_names() {
        assert_eq!(initials("Ana Lopez"), "AL");
        assert_eq!(initials("Visitor #12"), "V");
        assert_eq!(initials("  "), "?");
        assert_eq!(initials("émile zola"), "ÉZ");
    }
}
