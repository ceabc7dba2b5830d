import { test, expect, type Page } from '@playwright/test';
import { checkPage, closeContexts, composer, messageLog, openMessenger, say, signIn, signInAs, hydrated } from './support';

test.afterEach(closeContexts);

/** The inbox's list buttons ("Unassigned 3"). */
const view = (agent: Page, name: string) =>
  agent.getByRole('list', { name: 'Lists' }).getByRole('button', { name: new RegExp(`^${name} \\d+$`) });

/** The inbox row whose text matches. */
const row = (agent: Page, text: string) =>
  agent.getByRole('navigation', { name: 'Conversations' }).getByRole('link').filter({ hasText: text });

test('an agent takes a conversation, notes, snoozes, resolves; the visitor starts anew', async ({ browser }) => {
  const visitor = await openMessenger(browser);
  const question = `My parcel never came, order ${Date.now()}`;
  await say(visitor, question);

  // An admin keeps two saved replies (Settings → Conversations).
  const agent = await signIn(browser);
  const settings = await agent.context().newPage();
  await settings.goto('/inbox/settings');
  await hydrated(settings);
  const card = settings.getByRole('region', { name: 'Conversations' });
  for (const [shortcut, text] of [
    ['bye', 'Anything else, {{visitor.first_name}}? Just write.'],
    ['bye-weekend', 'Have a good weekend, {{visitor.first_name}}!'],
  ]) {
    await card.getByLabel('Shortcut').fill(shortcut);
    await card.getByLabel('Reply', { exact: true }).fill(text);
    await card.getByRole('button', { name: 'Save reply' }).click();
    await expect(card.getByText(`/${shortcut}`, { exact: true })).toBeVisible();
  }
  await settings.close();
  await agent.reload();
  await expect(agent.getByRole('status').filter({ hasText: 'Online' })).toBeVisible();

  // Triage: the new conversation waits under Unassigned.
  await view(agent, 'Unassigned').click();
  await expect(row(agent, question)).toContainText('Waiting');
  await expect(row(agent, question)).toContainText('Unassigned');
  await row(agent, question).click();
  await expect(messageLog(agent).getByText(question)).toBeVisible();

  // Take it: the line says so, the row shows the owner, Mine counts it.
  await agent.getByRole('combobox', { name: 'Assignee' }).selectOption({ label: 'Admin (you)' });
  await expect(messageLog(agent).getByText('Admin took this')).toBeVisible();
  await expect(view(agent, 'Mine')).toHaveAccessibleName(/^Mine [1-9]\d*$/);

  // A private note: marked as one, and never shown to the visitor.
  const secret = 'VIP: refund without asking';
  await agent.getByRole('button', { name: 'Note', exact: true }).click();
  await agent.getByRole('textbox', { name: 'Note', exact: true }).fill(secret);
  await agent.getByRole('button', { name: 'Add note' }).click();
  const note = messageLog(agent).locator('.message-group.note').getByText(secret);
  await expect(note).toBeVisible();
  await agent.getByRole('button', { name: 'Reply', exact: true }).click();
  await say(agent, 'So sorry! A refund is on its way.');
  await expect(messageLog(visitor).getByText('A refund is on its way.')).toBeVisible();
  await expect(messageLog(visitor).getByText(secret)).toHaveCount(0);
  await expect(messageLog(visitor).getByText('Admin took this')).toHaveCount(0);

  // Snooze until tomorrow morning: out of the open lists, into Snoozed.
  await agent.locator('summary', { hasText: 'Snooze' }).click();
  await agent.getByRole('button', { name: 'Tomorrow at 9:00' }).click();
  await expect(messageLog(agent).getByText(/^Snoozed until .* by Admin$/)).toBeVisible();
  await expect(agent.getByText(/A reply from the visitor wakes it sooner/)).toBeVisible();
  await view(agent, 'Snoozed').click();
  await expect(row(agent, 'So sorry!')).toContainText('Until');

  // The visitor writes: it wakes up by itself.
  await say(visitor, 'Thanks! One more thing.');
  await expect(messageLog(agent).getByText('Woke up: the visitor replied')).toBeVisible();
  await expect(row(agent, 'One more thing')).toHaveCount(0);
  await view(agent, 'Mine').click();
  await expect(row(agent, 'One more thing')).toBeVisible();

  // Answer with a saved reply, by keyboard: "/bye", down, up, Enter.
  await composer(agent).fill('/bye');
  const options = agent.getByRole('listbox', { name: 'Saved replies' }).getByRole('option');
  await expect(options).toHaveCount(2);
  await expect(options.first()).toHaveAttribute('aria-selected', 'true');
  await composer(agent).press('ArrowDown');
  await expect(options.nth(1)).toHaveAttribute('aria-selected', 'true');
  await composer(agent).press('ArrowUp');
  await composer(agent).press('Enter');
  // The visitor gave no name: "there".
  await expect(composer(agent)).toHaveValue('Anything else, there? Just write.');
  await composer(agent).press('Enter');
  await expect(messageLog(visitor).getByText('Anything else, there? Just write.')).toBeVisible();

  // Resolve: the visitor is told, and starts a new conversation.
  await agent.getByRole('button', { name: 'Resolve', exact: true }).click();
  await expect(messageLog(agent).getByText('Admin resolved this')).toBeVisible();
  await expect(visitor.getByText('This conversation was resolved.', { exact: false })).toBeVisible();
  // "How did we do?": the visitor rates, adds a word; the team sees both.
  await expect(visitor.getByText('How did we do?')).toBeVisible();
  await visitor.getByRole('button', { name: 'Good', exact: true }).click();
  await expect(visitor.getByText('You rated this Good. Thank you!')).toBeVisible();
  await visitor.getByLabel('Anything to add? (optional)').fill('Quick and kind');
  await visitor.getByRole('button', { name: 'Send', exact: true }).first().click();
  await expect(messageLog(agent).getByText('The visitor rated this Good: “Quick and kind”')).toBeVisible();
  await view(agent, 'Resolved').click();
  await expect(row(agent, 'Anything else')).toContainText('Rated Good');
  await visitor.getByRole('button', { name: 'start a new conversation' }).click();
  await expect(messageLog(visitor).getByText('Anything else, there? Just write.')).toHaveCount(0);
  const second = `Do you ship to Canada? ${Date.now()}`;
  await say(visitor, second);
  await view(agent, 'Unassigned').click();
  await expect(row(agent, second)).toBeVisible();

  // The messenger lists both, newest first; the old one opens again.
  await visitor.getByRole('button', { name: 'Your conversations' }).click();
  const picks = visitor.locator('.conversation-pick');
  await expect(picks).toHaveCount(2);
  await expect(picks.first()).toContainText('Do you ship to Canada?');
  await expect(picks.nth(1)).toContainText('Resolved');
  for (const scheme of ['light', 'dark'] as const) {
    await visitor.emulateMedia({ colorScheme: scheme });
    await checkPage(visitor, `the messenger's conversations, ${scheme}`);
  }
  await picks.nth(1).click();
  await expect(messageLog(visitor).getByText('Anything else, there? Just write.')).toBeVisible();
  await expect(composer(visitor)).toBeVisible();

  // The thread with its note and lines, and the snooze menu open, read well.
  await view(agent, 'Resolved').click();
  await row(agent, 'Anything else').click();
  await agent.getByRole('button', { name: 'Note', exact: true }).click();
  for (const scheme of ['light', 'dark'] as const) {
    await agent.emulateMedia({ colorScheme: scheme });
    await checkPage(agent, `a thread with a note, ${scheme}`);
  }
});

test('the thread actions fit a phone, and the snooze menu closes with Escape', async ({ browser }) => {
  const visitor = await openMessenger(browser);
  const question = `Phone check ${Date.now()}`;
  await say(visitor, question);
  const agent = await signIn(browser);
  await agent.setViewportSize({ width: 360, height: 740 });
  await row(agent, question).click();
  await expect(agent.getByRole('button', { name: 'Resolve', exact: true })).toBeVisible();
  await agent.locator('summary', { hasText: 'Snooze' }).click();
  await expect(agent.getByRole('button', { name: 'In 1 hour' })).toBeVisible();
  const width = await agent.evaluate(() => document.documentElement.scrollWidth);
  expect(width).toBeLessThanOrEqual(360);
  for (const scheme of ['light', 'dark'] as const) {
    await agent.emulateMedia({ colorScheme: scheme });
    await checkPage(agent, `the snooze menu at 360 px, ${scheme}`);
  }
  await agent.keyboard.press('Escape');
  await expect(agent.getByRole('button', { name: 'In 1 hour' })).toBeHidden();
  // The Labels menu opens on the screen too (it is first, at the left edge).
  await agent.locator('summary', { hasText: 'Labels' }).click();
  await expect(agent.locator('.label-menu .snooze-choices')).toBeInViewport({ ratio: 1 });
});

test('the inbox answers to the keyboard, never while typing', async ({ browser }) => {
  const visitor = await openMessenger(browser);
  const question = `Keyboard check ${Date.now()}`;
  await say(visitor, question);
  const agent = await signIn(browser);

  await agent.keyboard.press('?');
  const help = agent.getByRole('dialog', { name: 'Keyboard shortcuts' });
  await expect(help).toContainText('Assign to me');
  await agent.keyboard.press('Escape');
  await expect(help).toBeHidden();

  // j opens the first conversation of the list.
  await agent.keyboard.press('j');
  await expect(agent).toHaveURL(/\/inbox\?c=\d+/);
  await expect(messageLog(agent).getByText(question)).toBeVisible();
  await agent.keyboard.press('a');
  await expect(messageLog(agent).getByText('Admin took this')).toBeVisible();

  // n writes a note: the letters typed then go to the note, not to shortcuts.
  await agent.keyboard.press('n');
  const noteBox = agent.getByRole('textbox', { name: 'Note', exact: true });
  await expect(noteBox).toBeFocused();
  await agent.keyboard.type('see an e-mail');
  await expect(noteBox).toHaveValue('see an e-mail');
  await expect(messageLog(agent).getByText('Admin resolved this')).toHaveCount(0);

  // Out of the box, e resolves and e again reopens.
  await noteBox.blur();
  await agent.keyboard.press('e');
  await expect(messageLog(agent).getByText('Admin resolved this')).toBeVisible();
  await agent.keyboard.press('e');
  await expect(messageLog(agent).getByText('Admin reopened this')).toBeVisible();
});

test('a team labels, mentions and resolves several at once', async ({ browser }) => {
  const stamp = Date.now();
  const first = await openMessenger(browser);
  const billing = `I was charged twice ${stamp}`;
  await say(first, billing);
  const second = await openMessenger(browser);
  const parcel = `Where is my parcel ${stamp}`;
  await say(second, parcel);

  // An admin adds Ben to the team and creates a label.
  const admin = await signIn(browser);
  const team = await admin.context().newPage();
  await team.goto('/inbox/team');
  await hydrated(team);
  const benEmail = `ben.${stamp}@example.com`;
  await team.getByLabel('Name').fill(`Ben ${stamp}`);
  await team.getByLabel('Email').fill(benEmail);
  await team.getByRole('button', { name: 'Add teammate' }).click();
  const password = (await team.locator('code.password').textContent())!.trim();
  await team.goto('/inbox/settings');
  await hydrated(team);
  const labels = team.getByRole('region', { name: 'Labels' });
  const labelName = `Billing ${stamp % 10000}`;
  await labels.getByLabel('Name').fill(labelName);
  await labels.getByLabel('Colour').selectOption('red');
  await labels.getByRole('button', { name: 'Create label' }).click();
  await expect(labels.locator('.label-chip', { hasText: labelName })).toBeVisible();
  for (const scheme of ['light', 'dark'] as const) {
    await team.emulateMedia({ colorScheme: scheme });
    await checkPage(team, `the settings with a label, ${scheme}`);
  }
  await team.close();

  const ben = await signInAs(browser, benEmail, password);
  await expect(ben.getByRole('status').filter({ hasText: 'Online' })).toBeVisible();

  // Ben, who is not an admin, keeps a saved reply of his own.
  const benSettings = await ben.context().newPage();
  await benSettings.goto('/inbox/settings');
  await hydrated(benSettings);
  const own = benSettings.getByRole('region', { name: 'Your saved replies' });
  await own.getByLabel('Shortcut').fill('thanks');
  await own.getByLabel('Reply', { exact: true }).fill('Thanks, {{visitor.first_name}}!');
  await own.getByRole('button', { name: 'Save my reply' }).click();
  await expect(own.getByText('/thanks', { exact: true })).toBeVisible();
  for (const scheme of ['light', 'dark'] as const) {
    await benSettings.emulateMedia({ colorScheme: scheme });
    await checkPage(benSettings, `a teammate's settings, ${scheme}`);
  }
  await benSettings.close();
  await ben.reload();
  await expect(ben.getByRole('status').filter({ hasText: 'Online' })).toBeVisible();

  // The admin mentions Ben in a note, picking his name from the list.
  await admin.reload();
  await expect(admin.getByRole('status').filter({ hasText: 'Online' })).toBeVisible();
  await row(admin, billing).click();
  await admin.getByRole('button', { name: 'Note', exact: true }).click();
  const noteBox = admin.getByRole('textbox', { name: 'Note', exact: true });
  await noteBox.fill('@be');
  const teammates = admin.getByRole('listbox', { name: 'Teammates' }).getByRole('option');
  await expect(teammates).toHaveCount(1);
  await noteBox.press('Enter');
  await expect(noteBox).toHaveValue(`@Ben ${stamp} `);
  await noteBox.pressSequentially('can you check the charge?');
  await noteBox.press('Enter');
  await expect(messageLog(admin).getByText('can you check the charge?')).toBeVisible();

  // Ben's Mentions list has it until he opens it.
  await expect(view(ben, 'Mentions')).toHaveAccessibleName('Mentions 1');
  await view(ben, 'Mentions').click();
  await expect(row(ben, billing)).toContainText('Mentioned you');
  await row(ben, billing).click();
  await expect(messageLog(ben).getByText('can you check the charge?')).toBeVisible();
  await expect(view(ben, 'Mentions')).toHaveAccessibleName('Mentions 0');
  // His own reply is offered to him, marked as his.
  await composer(ben).fill('/than');
  const offered = ben.getByRole('listbox', { name: 'Saved replies' }).getByRole('option');
  await expect(offered).toHaveCount(1);
  await expect(offered).toContainText('yours');
  await composer(ben).press('Enter');
  await expect(composer(ben)).toHaveValue('Thanks, there!');
  await composer(ben).fill('');

  // The admin labels it: the line, the chip on the row, the filter.
  await admin.locator('summary', { hasText: 'Labels' }).click();
  await admin.getByRole('checkbox', { name: labelName }).check();
  await expect(messageLog(admin).getByText(`Admin added the label ${labelName}`)).toBeVisible();
  await admin.keyboard.press('Escape');
  await expect(row(admin, billing)).toContainText(labelName);
  const filter = admin.getByRole('combobox', { name: 'Label' });
  await filter.selectOption({ label: labelName });
  await expect(row(admin, billing)).toBeVisible();
  await expect(row(admin, parcel)).toHaveCount(0);
  await filter.selectOption({ label: 'All labels' });
  await expect(row(admin, parcel)).toBeVisible();

  // Both picked and resolved at once, on a phone.
  await admin.setViewportSize({ width: 360, height: 740 });
  await admin.goto('/inbox');
  await expect(admin.getByRole('status').filter({ hasText: 'Online' })).toBeVisible();
  for (const text of [parcel, billing]) {
    const item = admin.getByRole('navigation', { name: 'Conversations' }).getByRole('listitem').filter({ hasText: text });
    await item.getByRole('checkbox').check();
  }
  const bar = admin.getByRole('toolbar', { name: 'Selected conversations' });
  await expect(bar).toContainText('2 selected');
  for (const scheme of ['light', 'dark'] as const) {
    await admin.emulateMedia({ colorScheme: scheme });
    await checkPage(admin, `two rows picked at 360 px, ${scheme}`);
  }
  await bar.getByRole('button', { name: 'Resolve' }).click();
  await expect(bar).toBeHidden();
  await expect(row(admin, parcel)).toHaveCount(0);
  await view(admin, 'Resolved').click();
  await expect(row(admin, parcel)).toBeVisible();
  await expect(row(admin, billing)).toBeVisible();
});
