//! Streaming an answer: the engine writes its text so far into a watch
//! channel (every token, cheap: the newest value replaces the last), and
//! [`relay`] passes it on at most every [`DRAFT_EVERY`], so a fast model
//! sends ten updates a second, not a hundred. Each update is the whole
//! text so far: one lost or late never garbles the bubble, and a socket
//! that reconnects mid-answer simply shows the next one, then the message.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

/// The least time between two drafts of one answer.
pub const DRAFT_EVERY: Duration = Duration::from_millis(100);

/// Where an engine writes its text so far.
pub type Progress = watch::Sender<String>;

/// The longest prefix of `bytes` that is whole UTF-8, as text: a token may
/// end in the middle of a character, which the next one completes.
pub fn text_so_far(bytes: &[u8]) -> String {
    let valid = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => std::str::from_utf8(&bytes[..err.valid_up_to()]).unwrap_or_default(),
    };
    valid.trim_start().to_owned()
}

/// Sends every change of `drafts` to `send`, at most one per
/// [`DRAFT_EVERY`] (the newest text when several came meanwhile), until
/// the engine drops its end. Empty text is never sent.
pub async fn relay<F, Fut>(mut drafts: watch::Receiver<String>, mut send: F)
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut next = Instant::now();
    while drafts.changed().await.is_ok() {
        tokio::time::sleep_until(next).await;
        let text = drafts.borrow_and_update().clone();
        if text.is_empty() {
            continue;
        }
        send(text).await;
        next = Instant::now() + DRAFT_EVERY;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn a_character_cut_by_a_token_waits_for_the_next() {
        let bytes = "Hi é".as_bytes();
        assert_eq!(text_so_far(&bytes[..bytes.len() - 1]), "Hi ");
        assert_eq!(text_so_far(bytes), "Hi é");
        assert_eq!(text_so_far(b"  Hello"), "Hello");
    }

    /// A model writing 200 tokens in one second yields about ten drafts,
    /// each longer than the last, the last one the whole text.
    #[tokio::test(start_paused = true)]
    async fn drafts_come_in_order_at_most_ten_a_second() {
        let (progress, drafts) = watch::channel(String::new());
        let sent = Arc::new(Mutex::new(Vec::<(Instant, String)>::new()));
        let log = sent.clone();
        let relaying = tokio::spawn(relay(drafts, move |text| {
            let log = log.clone();
            async move { log.lock().unwrap().push((Instant::now(), text)) }
        }));
        let started = Instant::now();
        let mut text = String::new();
        for n in 0..200 {
            text.push_str(&format!("w{n} "));
            progress.send_replace(text.clone());
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        drop(progress);
        relaying.await.unwrap();
        let sent = sent.lock().unwrap();
        let took = started.elapsed();
        let most = (took.as_millis() / DRAFT_EVERY.as_millis()) as usize + 1;
        assert!(sent.len() >= 5, "too few drafts: {}", sent.len());
        assert!(sent.len() <= most, "{} drafts in {took:?}", sent.len());
        for pair in sent.windows(2) {
            assert!(pair[1].0 - pair[0].0 >= DRAFT_EVERY, "drafts too close");
            assert!(pair[1].1.starts_with(&pair[0].1), "a draft went back");
            assert!(pair[1].1.len() > pair[0].1.len());
        }
        assert_eq!(
            sent.last().unwrap().1,
            text,
            "the last draft is the whole text"
        );
    }
}
