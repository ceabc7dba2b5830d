//! `/`: a small fictional company site that embeds the messenger bubble.

use leptos::prelude::*;
use leptos_meta::{Meta, Title};

use crate::app::components::{Glyph, Icon};
use crate::app::messenger::Launcher;
use crate::client::{Role, provide_live};

/// The demo landing page.
#[component]
pub fn DemoPage() -> impl IntoView {
    provide_live(Role::Visitor);
    view! {
        <Title text="Northwind Coffee — fresh roasts, delivered" />
        <Meta
            name="description"
            content="Single-origin coffee roasted to order and delivered every week. Ask us anything in the chat."
        />
        <div class="demo">
            <header class="demo-header">
                <span class="demo-logo"><Icon glyph=Glyph::Cup /></span>
                <span class="demo-brand">"Northwind Coffee"</span>
                <nav class="demo-nav" aria-label="Site">
                    <a href="#beans">"Beans"</a>
                    <a href="#subscriptions">"Subscriptions"</a>
                    <a href="/inbox" rel="external">"Team inbox"</a>
                </nav>
            </header>
            <main>
                <section class="demo-hero">
                    <h1>"Fresh roasts, at your door every week."</h1>
                    <p>
                        "Single-origin beans roasted to order and shipped within 24 hours. "
                        "Questions about grind, delivery or your subscription? Ask us in the chat — "
                        "a real person answers."
                    </p>
                </section>
                <section class="demo-cards">
                    <article id="beans">
                        <h2>"Beans"</h2>
                        <p>"Ethiopia Guji, Colombia Huila, Sumatra Mandheling — roasted light to dark."</p>
                    </article>
                    <article id="subscriptions">
                        <h2>"Subscriptions"</h2>
                        <p>"Pause, skip or change your roast whenever you like. No fees."</p>
                    </article>
                    <article>
                        <h2>"Support"</h2>
                        <p>"Open the chat bubble in the corner. We usually reply within minutes."</p>
                    </article>
                </section>
            </main>
            <Launcher />
        </div>
    }
}
