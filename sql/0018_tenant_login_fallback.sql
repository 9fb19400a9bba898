-- How a tenant's Instagram accounts may log in when the browser cannot (issue 26, item 6):
-- NULL: only with Chromium (the default); 'http': when Chromium is missing or fails for a
-- technical reason, over HTTP the way instaloader does (`tenants set T --login-fallback http`).
ALTER TABLE tenants ADD COLUMN login_fallback TEXT;
