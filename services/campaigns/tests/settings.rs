//! The campaign settings: defaults, every bad value named, stale etags, roles, tenants.

use rapport_proto::campaigns as pb;
use rapport_testkit::each_backend;
use tonic::Code;

use crate::common::*;

fn settings_request(s: pb::CampaignSettings, fields: &[&str]) -> pb::UpdateCampaignSettingsRequest {
    pb::UpdateCampaignSettingsRequest {
        settings: Some(s),
        update_mask: mask(fields),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_settings_default_change_and_name_every_bad_value() {
    each_backend(&services(), async |s| {
        let mut a = admin(s);
        let current = a
            .campaigns
            .get_campaign_settings(pb::GetCampaignSettingsRequest {
                name: "campaignSettings".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(current.attribution_window_days, 30);
        assert_eq!(current.caps.len(), 2);
        assert_eq!(current.caps[0].channel, pb::Channel::Sms as i32);
        assert_eq!(current.caps[0].max_messages, 2);

        let bad = assert_code(
            a.campaigns
                .update_campaign_settings(settings_request(
                    pb::CampaignSettings {
                        name: "campaignSettings".into(),
                        attribution_window_days: 0,
                        rest_days: 1000,
                        caps: vec![
                            pb::ChannelCap {
                                channel: pb::Channel::Sms.into(),
                                max_messages: 0,
                                period_days: 7,
                            },
                            pb::ChannelCap {
                                channel: 99,
                                max_messages: 1,
                                period_days: 7,
                            },
                            pb::ChannelCap {
                                channel: pb::Channel::Sms.into(),
                                max_messages: 1,
                                period_days: 7,
                            },
                        ],
                        ..Default::default()
                    },
                    &["attribution_window_days", "rest_days", "caps", "nonsense"],
                ))
                .await,
            Code::InvalidArgument,
        );
        // A bad mask is refused before the values are read.
        assert_eq!(sorted_bad_fields(&bad), ["update_mask"]);
        // The mask is right now: the document's own rules speak.
        let bad = assert_code(
            a.campaigns
                .update_campaign_settings(settings_request(
                    pb::CampaignSettings {
                        attribution_window_days: 0,
                        rest_days: 1000,
                        caps: vec![
                            pb::ChannelCap {
                                channel: pb::Channel::Sms.into(),
                                max_messages: 0,
                                period_days: 7,
                            },
                            pb::ChannelCap {
                                channel: pb::Channel::Sms.into(),
                                max_messages: 1,
                                period_days: 7,
                            },
                        ],
                        ..Default::default()
                    },
                    &["attribution_window_days", "rest_days", "caps"],
                ))
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&bad),
            [
                "settings.attribution_window_days",
                "settings.caps[0].max_messages",
                "settings.caps[1].channel",
                "settings.rest_days",
            ]
        );
        assert_code(
            a.campaigns
                .update_campaign_settings(pb::UpdateCampaignSettingsRequest::default())
                .await,
            Code::InvalidArgument,
        );

        let changed = a
            .campaigns
            .update_campaign_settings(settings_request(
                pb::CampaignSettings {
                    attribution_window_days: 14,
                    rates: vec![pb::ChannelRate {
                        channel: pb::Channel::Email.into(),
                        per_second: 5,
                    }],
                    etag: current.etag.clone(),
                    ..Default::default()
                },
                &["attribution_window_days", "rates"],
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(changed.attribution_window_days, 14);
        assert_eq!(changed.rates[0].per_second, 5);
        assert_eq!(changed.caps.len(), 2, "fields outside the mask are kept");
        // The first etag is stale now.
        assert_code(
            a.campaigns
                .update_campaign_settings(settings_request(
                    pb::CampaignSettings {
                        attribution_window_days: 20,
                        etag: current.etag,
                        ..Default::default()
                    },
                    &["attribution_window_days"],
                ))
                .await,
            Code::Aborted,
        );
        // Another tenant has its own defaults.
        let theirs = stranger(s)
            .campaigns
            .get_campaign_settings(pb::GetCampaignSettingsRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(theirs.attribution_window_days, 30);
        // A wrong name is a bad field; only admins change the settings.
        assert_eq!(
            bad_fields(&assert_code(
                a.campaigns
                    .get_campaign_settings(pb::GetCampaignSettingsRequest {
                        name: "settings".into(),
                    })
                    .await,
                Code::InvalidArgument,
            )),
            ["name"]
        );
        assert_code(
            manager(s)
                .campaigns
                .update_campaign_settings(settings_request(
                    pb::CampaignSettings::default(),
                    &["rest_days"],
                ))
                .await,
            Code::PermissionDenied,
        );
        rep(s)
            .campaigns
            .get_campaign_settings(pb::GetCampaignSettingsRequest::default())
            .await
            .unwrap();
    })
    .await;
}
