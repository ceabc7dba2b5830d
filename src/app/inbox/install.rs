//! "Install the messenger" on the Settings page: the two lines a website pastes
//! to get the launcher (`/widget.js`), filled in with this server's address.

use leptos::prelude::*;

/// The snippet for a server at `origin`.
pub fn snippet(origin: &str) -> String {
    format!(
        "<script>window.minicomSettings = {{}};</script>\n\
         <script src=\"{origin}/widget.js\" async></script>"
    )
}

/// The card with the snippet.
#[component]
pub fn InstallCard() -> impl IntoView {
    // The address the admin reached this server by: known in the browser.
    let origin = RwSignal::new(String::new());
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let Some(window) = leptos::web_sys::window()
            && let Ok(here) = window.location().origin()
        {
            origin.set(here);
        }
    });
    view! {
        <section aria-labelledby="install-title" class="team-card">
            <h2 id="install-title">"Install the messenger"</h2>
            <p class="team-hint">
                "Paste these two lines into every page of your website, just before "
                <code>"</body>"</code>
                ". The site must also be on the list of sites allowed to embed the chat."
            </p>
            <pre class="snippet"><code>{move || snippet(&origin.get())}</code></pre>
            <p class="team-hint">
                "To link your signed-in users, put their id and its signature in the settings "
                "(" <code>"user_id"</code> ", " <code>"user_hash"</code>
                ") or call " <code>"Minicom('boot', {…})"</code> "; see the README."
            </p>
        </section>
    }
}
