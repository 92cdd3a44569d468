-- Reverts 0011 mail.
DROP TABLE IF EXISTS platform_notifications;
DROP INDEX IF EXISTS ix_notifications_tenant_template;
DROP INDEX IF EXISTS ix_notifications_tenant_id;
ALTER TABLE notifications
	DROP COLUMN message_id,
	DROP COLUMN interrupted,
	DROP COLUMN send_started_at,
	DROP COLUMN claim_token;
DROP TABLE IF EXISTS tenant_smtp_settings;
DROP TABLE IF EXISTS email_templates;
DROP TABLE IF EXISTS email_template_defaults;
