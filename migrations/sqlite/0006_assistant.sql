-- The AI assistant: who is answering each conversation.
--   off       the assistant is not involved (it was disabled when the
--             conversation started, or an agent switched it off)
--   answering the assistant answers until a person takes over
--   waiting   handed to the team (the visitor asked for a person, or the
--             assistant could not answer): waiting for an agent's reply
--   human     an agent replied after the assistant had been involved
ALTER TABLE conversations ADD COLUMN assistant TEXT NOT NULL DEFAULT 'off'
    CHECK (assistant IN ('off', 'answering', 'waiting', 'human'));
