//! The `assistant` scenario: ordinary messages while the assistant is busy.

use super::*;

/// The `assistant` scenario: ordinary conversations at a steady rate; halfway
/// through, the assistant is switched on and `generating` visitors keep it
/// busy (each asks again as soon as it is answered). Compares the ordinary
/// messages' latency before and during.
pub async fn assistant(ctx: &Ctx, chat: Chat, generating: usize) -> anyhow::Result<Report> {
    let cookie = ctx.sign_in().await?;
    // Ordinary conversations start without the assistant.
    http::set_assistant(&ctx.target, &cookie, false).await?;
    let answers = Arc::new(AtomicU64::new(0));
    let start = {
        let (cookie, answers) = (cookie.clone(), answers.clone());
        Box::new(move || {
            Box::pin(async move {
                http::set_assistant(&ctx.target, &cookie, true).await?;
                Ok(Some(ask_again_and_again(ctx, generating, answers).await))
            }) as futures::future::BoxFuture<'_, anyhow::Result<Option<Held>>>
        }) as Midpoint<'_>
    };
    let mut report = run_chat(ctx, chat, "assistant", Some(start)).await?;
    http::set_assistant(&ctx.target, &cookie, false).await?;
    report.notes.insert(
        "assistant".into(),
        format!(
            "{generating} visitors kept the assistant busy in the second half ({} answers or fallbacks)",
            get(&answers)
        ),
    );
    if let Ok((_, text)) = http::get(&ctx.target, "/metrics").await {
        let m = |name: &str| http::metric(&text, name).unwrap_or(0.0);
        let answered = m("minicom_assistant_generation_seconds_count");
        let tokens = m("minicom_assistant_tokens_total");
        let generating_s = m("minicom_assistant_generation_seconds_sum")
            - m("minicom_assistant_first_token_seconds_sum");
        report.notes.insert(
            "model".into(),
            format!(
                "{answered} answers, {tokens} tokens; mean time to first token {:.0} ms (reading the prompt included, queue wait not), \
                 mean generation {:.2} s, {:.1} tokens/s while generating; failures: timeout {}, queue full {}, engine {}",
                m("minicom_assistant_first_token_seconds_sum") / answered.max(1.0) * 1000.0,
                m("minicom_assistant_generation_seconds_sum") / answered.max(1.0),
                tokens / generating_s.max(1e-9),
                m(r#"minicom_assistant_failures_total{cause="timeout"}"#),
                m(r#"minicom_assistant_failures_total{cause="queue_full"}"#),
                m(r#"minicom_assistant_failures_total{cause="engine_error"}"#),
            ),
        );
    }
    Ok(report)
}

/// Visitors who each ask a question, wait for the assistant's answer (or the
/// fallback line), and ask again, until stopped.
async fn ask_again_and_again(ctx: &Ctx, count: usize, answers: Arc<AtomicU64>) -> Held {
    const QUESTIONS: [&str; 4] = [
        "Hi! Do you ship coffee beans abroad?",
        "What is the difference between your light and dark roasts?",
        "Can I change the address of an order I placed yesterday?",
        "Do you have decaf, and how is it decaffeinated?",
    ];
    let stats = Arc::new(Stats::new());
    let (stop_tx, stop) = watch::channel(false);
    let sockets = open_visitors(ctx, count, 2_000_000, &stats).await;
    let open_count = Arc::new(AtomicU64::new(sockets.len() as u64));
    let mut tasks = Vec::new();
    for (n, (_, mut ws)) in sockets.into_iter().enumerate() {
        let (answers, mut stop) = (answers.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut conversation: Option<i64> = None;
            for round in 0.. {
                let question = QUESTIONS[(n + round) % QUESTIONS.len()];
                if ws.send(send_frame(conversation, question)).await.is_err() {
                    return;
                }
                // Until the assistant (or Minicom's fallback) answers.
                loop {
                    let received = tokio::select! {
                        received = ws.next() => received,
                        _ = stopped(&mut stop) => return,
                    };
                    let Some(Ok(Message::Text(text))) = received else {
                        return;
                    };
                    let Ok(frame) = serde_json::from_str::<Frame>(&text) else {
                        continue;
                    };
                    match (frame.kind.as_str(), frame.message) {
                        ("ack", Some(m)) => conversation = Some(m.conversation_id),
                        ("message", Some(m)) if m.sender == "ai" => break,
                        ("message", Some(m)) if m.sender == "system" => {
                            // Handed over: the next question starts afresh
                            // only if the assistant still answers; stop here.
                            answers.fetch_add(1, Ordering::Relaxed);
                            let _ = stopped(&mut stop).await;
                            return;
                        }
                        _ => {}
                    }
                }
                answers.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    Held {
        stop: stop_tx,
        tasks,
        open: open_count,
    }
}
