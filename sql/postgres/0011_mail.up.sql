-- 0011 mail: the PostgreSQL twin of sql/mysql/0011_mail.up.sql (see the
-- comments there).

CREATE TABLE email_template_defaults (
	template_key varchar(40) PRIMARY KEY,
	subject varchar(255) NOT NULL,
	body_html text NOT NULL,
	body_text text NOT NULL
);

CREATE TABLE email_templates (
	tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	template_key varchar(40) NOT NULL,
	subject varchar(255) NOT NULL,
	body_html text NULL,
	body_text text NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, template_key),
	CONSTRAINT ck_email_templates_body
		CHECK (body_html IS NOT NULL OR body_text IS NOT NULL)
);

CREATE TABLE tenant_smtp_settings (
	tenant_id bigint PRIMARY KEY
		REFERENCES tenants (id) ON DELETE CASCADE,
	host varchar(253) NOT NULL,
	port integer NOT NULL CHECK (port BETWEEN 1 AND 65535),
	security varchar(20) NOT NULL DEFAULT 'starttls'
		CHECK (security IN ('starttls', 'starttls_optional', 'tls',
		                    'none')),
	username varchar(254) NULL,
	password_enc bytea NULL,
	from_email varchar(254) NOT NULL,
	from_name varchar(100) NULL,
	verify_tls boolean NOT NULL DEFAULT true,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE notifications
	ADD COLUMN claim_token char(32) NULL,
	ADD COLUMN send_started_at timestamptz NULL,
	ADD COLUMN interrupted integer NOT NULL DEFAULT 0,
	ADD COLUMN message_id varchar(255) NULL;
CREATE INDEX ix_notifications_tenant_id ON notifications (tenant_id, id);
CREATE INDEX ix_notifications_tenant_template
	ON notifications (tenant_id, template_key, status, id);

CREATE TABLE platform_notifications (
	id bigserial PRIMARY KEY,
	template_key varchar(40) NOT NULL,
	recipient_admin_id bigint NULL
		REFERENCES platform_admins (id) ON DELETE SET NULL,
	recipient_email varchar(254) NULL,
	payload jsonb NULL,
	dedupe_key varchar(100) NULL,
	status varchar(16) NOT NULL DEFAULT 'queued'
		CHECK (status IN ('queued', 'sending', 'sent', 'failed')),
	attempts integer NOT NULL DEFAULT 0,
	last_error varchar(500) NULL,
	send_after timestamptz NOT NULL DEFAULT now(),
	sent_at timestamptz NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	claim_token char(32) NULL,
	send_started_at timestamptz NULL,
	interrupted integer NOT NULL DEFAULT 0,
	message_id varchar(255) NULL,
	CONSTRAINT uq_platform_notifications_dedupe UNIQUE (dedupe_key)
);
CREATE INDEX ix_platform_notifications_status
	ON platform_notifications (status, send_after);

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

INSERT INTO email_templates (tenant_id, template_key, subject, body_html,
	body_text)
SELECT t.id, d.template_key, d.subject, d.body_html, d.body_text
FROM tenants t CROSS JOIN email_template_defaults d;
