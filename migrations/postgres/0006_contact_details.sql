-- What the contact panel shows about a visitor beyond name and email: the
-- browser they last chatted from (its user agent, read when shown), their
-- time zone and the page they are on (as the messenger reports them), and
-- the custom attributes a verified embedding site sent (a JSON object of
-- strings). Adding nullable columns rewrites nothing.
ALTER TABLE contacts ADD COLUMN user_agent TEXT;
ALTER TABLE contacts ADD COLUMN time_zone TEXT;
ALTER TABLE contacts ADD COLUMN page_url TEXT;
ALTER TABLE contacts ADD COLUMN page_title TEXT;
ALTER TABLE contacts ADD COLUMN attributes TEXT;
