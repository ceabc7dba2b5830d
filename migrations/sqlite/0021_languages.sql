-- The language of a visitor's messenger (an i18n::Locale tag such as
-- 'es'): the team sees it, the assistant answers in it. NULL: not known
-- (an older messenger, or a socket that named none).
ALTER TABLE contacts ADD COLUMN language TEXT;
