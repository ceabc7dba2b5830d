//! The sign-in form. A plain form post, so it works before the page hydrates.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// Email and password, posted to `/auth/login`.
#[component]
pub fn SignIn() -> impl IntoView {
    let query = use_query_map();
    let problem = move || {
        query.with(|q| match q.get("error").as_deref() {
            Some("credentials") => Some(
                "That email and password don't match an active account. Check both and try again.",
            ),
            Some("throttled") => Some(
                "Too many sign-in attempts. For your security, wait 15 minutes before trying again.",
            ),
            Some("unavailable") => {
                Some("Sign-in is unavailable right now. Please try again in a moment.")
            }
            _ => None,
        })
    };
    view! {
        <leptos_meta::Title text="Sign in — Minicom" />
        <leptos_meta::Meta name="description" content="Sign in to the Minicom team inbox." />
        <main class="sign-in">
            <form class="sign-in-card" method="post" action="/auth/login">
                <h1>"Sign in to your inbox"</h1>
                <p class="sign-in-hint">"Answer your visitors in real time."</p>
                {move || problem().map(|p| view! { <p class="form-problem" role="alert">{p}</p> })}
                <label>
                    "Email"
                    <input type="email" name="email" autocomplete="username" required autofocus />
                </label>
                <label>
                    "Password"
                    <input type="password" name="password" autocomplete="current-password" required />
                </label>
                <button type="submit" class="button-primary">"Sign in"</button>
            </form>
        </main>
    }
}
