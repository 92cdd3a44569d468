-- 0011 mail: what the mailer (rtrw-mailer) needs to send the
-- notifications queue.  Email templates per tenant with their defaults,
-- optional SMTP settings per tenant, the claim columns of the queue and
-- a queue of its own for platform mail (which has no tenant).

-- The default text of each template key, reference data without a
-- tenant.  Registration copies these rows into email_templates for the
-- new tenant (lib/seed.c), this migration does it for the tenants that
-- exist already, and platform mail (backup_failed) is rendered from them.
CREATE TABLE email_template_defaults (
	template_key VARCHAR(40) NOT NULL,
	subject VARCHAR(255) NOT NULL,
	body_html TEXT NOT NULL,
	body_text TEXT NOT NULL,
	PRIMARY KEY (template_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A tenant's templates, one row per key (PUT /email-templates/{key}
-- changes them).  The keys and the placeholders each may use are listed
-- in lib/template.c, which refuses any other placeholder.  A NULL body
-- is a message without that part; one of the two is always there.
CREATE TABLE email_templates (
	tenant_id BIGINT UNSIGNED NOT NULL,
	template_key VARCHAR(40) NOT NULL,
	subject VARCHAR(255) NOT NULL,
	body_html TEXT NULL,
	body_text TEXT NULL,
	created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
	updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
		ON UPDATE CURRENT_TIMESTAMP,
	PRIMARY KEY (tenant_id, template_key),
	CONSTRAINT fk_email_templates_tenant FOREIGN KEY (tenant_id)
		REFERENCES tenants (id) ON DELETE CASCADE,
	CONSTRAINT ck_email_templates_body
		CHECK (body_html IS NOT NULL OR body_text IS NOT NULL)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A tenant's own SMTP server (/api/v1/settings/smtp); without a row the
-- tenant's mail goes through the platform's server (smtp_* keys of
-- rtrw.conf).  The password is sealed with the data key (lib/crypto.h,
-- associated data "tenant:ID:smtp") and never returned.
CREATE TABLE tenant_smtp_settings (
	tenant_id BIGINT UNSIGNED NOT NULL,
	host VARCHAR(253) NOT NULL,
	port INT UNSIGNED NOT NULL,
	security VARCHAR(20) NOT NULL DEFAULT 'starttls',
	username VARCHAR(254) NULL,
	password_enc VARBINARY(600) NULL,
	from_email VARCHAR(254) NOT NULL,
	from_name VARCHAR(100) NULL,
	verify_tls BOOLEAN NOT NULL DEFAULT TRUE,
	created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
	updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
		ON UPDATE CURRENT_TIMESTAMP,
	PRIMARY KEY (tenant_id),
	CONSTRAINT fk_tenant_smtp_settings_tenant FOREIGN KEY (tenant_id)
		REFERENCES tenants (id) ON DELETE CASCADE,
	CONSTRAINT ck_tenant_smtp_settings_security
		CHECK (security IN ('starttls', 'starttls_optional', 'tls', 'none')),
	CONSTRAINT ck_tenant_smtp_settings_port CHECK (port BETWEEN 1 AND 65535)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The mailer's state machine (lib/mailer.h): a row being sent is
-- 'sending' with the sender's claim_token, send_after is then the end of
-- its lease, and send_started_at says that an SMTP transaction began.
-- interrupted counts sends whose outcome nobody recorded (the mailer
-- died); message_id is fixed at the first attempt and reused by every
-- later one.
-- The two indexes serve GET /notifications: the newest first of the
-- whole queue, and a template_key filter (with or without status);
-- ix_notifications_tenant_status (0003) serves a status filter alone.
ALTER TABLE notifications
	ADD COLUMN claim_token CHAR(32) NULL,
	ADD COLUMN send_started_at DATETIME NULL,
	ADD COLUMN interrupted INT UNSIGNED NOT NULL DEFAULT 0,
	ADD COLUMN message_id VARCHAR(255) NULL,
	ADD KEY ix_notifications_tenant_id (tenant_id, id),
	ADD KEY ix_notifications_tenant_template
		(tenant_id, template_key, status, id);

-- Platform mail (backup failed -> platform admins) has no tenant, so it
-- has its own queue with the same columns and the same state machine
-- rather than a nullable tenant_id in notifications, which would put
-- rows outside every tenant into a tenant table.
CREATE TABLE platform_notifications (
	id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
	template_key VARCHAR(40) NOT NULL,
	recipient_admin_id BIGINT UNSIGNED NULL,
	recipient_email VARCHAR(254) NULL,
	payload JSON NULL,
	dedupe_key VARCHAR(100) NULL,
	status VARCHAR(16) NOT NULL DEFAULT 'queued',
	attempts INT UNSIGNED NOT NULL DEFAULT 0,
	last_error VARCHAR(500) NULL,
	send_after DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
	sent_at DATETIME NULL,
	created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
	claim_token CHAR(32) NULL,
	send_started_at DATETIME NULL,
	interrupted INT UNSIGNED NOT NULL DEFAULT 0,
	message_id VARCHAR(255) NULL,
	PRIMARY KEY (id),
	UNIQUE KEY uq_platform_notifications_dedupe (dedupe_key),
	KEY ix_platform_notifications_status (status, send_after),
	CONSTRAINT fk_platform_notifications_admin
		FOREIGN KEY (recipient_admin_id)
		REFERENCES platform_admins (id) ON DELETE SET NULL,
	CONSTRAINT ck_platform_notifications_status
		CHECK (status IN ('queued', 'sending', 'sent', 'failed'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The default templates (the same text in both dialects; test_mailer.py
-- compares them).  Placeholders are those lib/template.c documents for
-- each key.
-- defaults begin
INSERT INTO email_template_defaults (template_key, subject, body_html, body_text) VALUES
('payment_overdue',
 'Tagihan {{period}} sudah jatuh tempo ({{customer_code}})',
 '<p>Yth. {{customer_name}},</p>
<p>Tagihan internet Anda untuk periode <b>{{period}}</b> sebesar <b>Rp {{amount}}</b> telah melewati jatuh tempo pada {{due_date}}.</p>
<p>Mohon segera melakukan pembayaran agar layanan tidak terganggu.</p>
<p>Terima kasih,<br>{{tenant_name}}</p>',
 'Yth. {{customer_name}},

Tagihan internet Anda untuk periode {{period}} sebesar Rp {{amount}} telah melewati jatuh tempo pada {{due_date}}.
Mohon segera melakukan pembayaran agar layanan tidak terganggu.

Terima kasih,
{{tenant_name}}'),
('ticket_created',
 'Tiket {{ticket_number}}: {{title}}',
 '<p>Halo {{recipient_name}},</p>
<p>Tiket <b>{{ticket_number}}</b> ditugaskan kepada Anda.</p>
<p>Judul: {{title}}<br>Prioritas: {{priority}}</p>
<p>{{tenant_name}}</p>',
 'Halo {{recipient_name}},

Tiket {{ticket_number}} ditugaskan kepada Anda.
Judul: {{title}}
Prioritas: {{priority}}

{{tenant_name}}'),
('speed_boost_approved',
 'Speed boost Anda disetujui ({{customer_code}})',
 '<p>Yth. {{customer_name}},</p>
<p>Permintaan speed boost Anda telah disetujui: {{speed_download}}/{{speed_upload}} dari {{starts_at}} sampai {{ends_at}}.</p>
<p>Terima kasih,<br>{{tenant_name}}</p>',
 'Yth. {{customer_name}},

Permintaan speed boost Anda telah disetujui: {{speed_download}}/{{speed_upload}} dari {{starts_at}} sampai {{ends_at}}.

Terima kasih,
{{tenant_name}}'),
('device_offline',
 'Perangkat {{name}} offline',
 '<p>Halo {{recipient_name}},</p>
<p>Perangkat <b>{{name}}</b> ({{ip_address}}) di {{location}} tidak dapat dihubungi. Terakhir terlihat: {{last_seen}}.</p>
<p>{{tenant_name}}</p>',
 'Halo {{recipient_name}},

Perangkat {{name}} ({{ip_address}}) di {{location}} tidak dapat dihubungi.
Terakhir terlihat: {{last_seen}}.

{{tenant_name}}'),
('report_ready',
 'Laporan {{report_type}} siap diunduh',
 '<p>Halo {{recipient_name}},</p>
<p>Laporan <b>{{report_type}}</b> ({{date_from}} sampai {{date_to}}) sudah selesai dibuat.</p>
<p><a href="{{download_url}}">Unduh laporan</a></p>
<p>{{tenant_name}}</p>',
 'Halo {{recipient_name}},

Laporan {{report_type}} ({{date_from}} sampai {{date_to}}) sudah selesai dibuat.
Unduh: {{download_url}}

{{tenant_name}}'),
('backup_failed',
 'Backup {{backup_id}} gagal di {{host}}',
 '<p>Halo {{recipient_name}},</p>
<p>Backup <b>{{backup_id}}</b> yang dimulai {{started_at}} di {{host}} gagal:</p>
<pre>{{error}}</pre>',
 'Halo {{recipient_name}},

Backup {{backup_id}} yang dimulai {{started_at}} di {{host}} gagal:
{{error}}');
-- defaults end

-- Tenants that exist already get the defaults now; new ones at
-- registration.
INSERT INTO email_templates (tenant_id, template_key, subject, body_html,
	body_text)
SELECT t.id, d.template_key, d.subject, d.body_html, d.body_text
FROM tenants t CROSS JOIN email_template_defaults d;
