//! SegmentService (CU13): Create, Get, List, Update and Delete segments; count and stream
//! their members.

use rapport_kit::{list_params, mask};
use rapport_proto::customers as pb;
use rapport_runtime::{Error, Result, error::both, storage::Idempotency, validation::Violations};
use tokio_stream::{StreamExt, wrappers::ReceiverStream};
use tonic::{Request, Status};

use super::{
    ServerStream,
    support::{SEGMENT_READERS, SEGMENT_USERS, authorize},
};
use crate::{
    app::{App, segments},
    convert::segment::{
        SEGMENT_MASK, apply_segment, parse_member_stream, parse_segment, parse_source,
        segment_to_proto,
    },
    domain::{names, segment::SegmentFields},
};

pub(super) async fn create(
    app: &App,
    req: Request<pb::CreateSegmentRequest>,
) -> Result<pb::Segment> {
    let p = authorize(&req, SEGMENT_USERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let fields = parse_segment(msg.segment.as_ref(), &mut v, &segments::check_filter(app));
    // A bad request id is reported together with the segment's bad fields.
    let (idem, fields) = both(
        Idempotency::new(&p, "CreateSegment", &msg.request_id, msg),
        v.finish(fields).map_err(Error::from),
    )?;
    segments::create(app, p, idem, fields).await
}

pub(super) async fn get(app: &App, req: Request<pb::GetSegmentRequest>) -> Result<pb::Segment> {
    let p = authorize(&req, SEGMENT_READERS)?;
    let id =
        names::parse_segment_name(&req.get_ref().name).map_err(|e| Error::invalid("name", e))?;
    Ok(segment_to_proto(&segments::get(app, &p, id).await?))
}

pub(super) async fn list(
    app: &App,
    req: Request<pb::ListSegmentsRequest>,
) -> Result<pb::ListSegmentsResponse> {
    let p = authorize(&req, SEGMENT_READERS)?;
    let msg = req.get_ref();
    let q = segments::list_query(app, &p, list_params!(msg), msg.show_deleted)?;
    let (rows, next_page_token) = segments::list(app, &p, &q, msg.show_deleted).await?;
    Ok(pb::ListSegmentsResponse {
        segments: rows.iter().map(segment_to_proto).collect(),
        next_page_token,
    })
}

pub(super) async fn update(
    app: &App,
    req: Request<pb::UpdateSegmentRequest>,
) -> Result<pb::Segment> {
    let p = authorize(&req, SEGMENT_USERS)?;
    let msg = req.into_inner();
    let Some(given) = msg.segment else {
        return Err(Error::invalid("segment", "is required"));
    };
    // The mask, the name and every value are checked together, the values on a blank segment.
    let mut v = Violations::new();
    let selected = mask::select(&SEGMENT_MASK, &mask::paths(msg.update_mask), &mut v);
    let fields = mask::fields(&SEGMENT_MASK, &selected);
    let id = names::parse_segment_name(&given.name)
        .map_err(|e| v.add("segment.name", e))
        .ok();
    let check = segments::check_filter(app);
    apply_segment(
        &given,
        &fields,
        &mut SegmentFields::default(),
        &mut v,
        &check,
    );
    let id = v.finish(id)?.unwrap_or_default();
    let changed = fields.iter().map(|f| (*f).to_owned()).collect();
    segments::update(app, &p, (id, &given.etag), changed, |into| {
        apply_segment(&given, &fields, into, &mut Violations::new(), &|_, _, _| {})
    })
    .await
}

pub(super) async fn delete(
    app: &App,
    req: Request<pb::DeleteSegmentRequest>,
) -> Result<pb::Segment> {
    let p = authorize(&req, SEGMENT_USERS)?;
    let msg = req.get_ref();
    let id = names::parse_segment_name(&msg.name).map_err(|e| Error::invalid("name", e))?;
    segments::delete(app, &p, id, &msg.etag).await
}

pub(super) async fn count(
    app: &App,
    req: Request<pb::CountSegmentMembersRequest>,
) -> Result<pb::CountSegmentMembersResponse> {
    let p = authorize(&req, SEGMENT_READERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let source = parse_source(&msg.name, &msg.filter, &mut v, &segments::check_filter(app));
    let source = v
        .finish(source)?
        .ok_or_else(|| Error::internal("no source"))?;
    segments::count(app, &p, &source).await
}

pub(super) async fn stream(
    app: &App,
    req: Request<pb::StreamSegmentMembersRequest>,
) -> Result<ServerStream<pb::SegmentMembersBatch>> {
    let p = authorize(&req, SEGMENT_USERS)?;
    let ask = parse_member_stream(req.get_ref(), app.now(), &segments::check_filter(app))?;
    let batches = segments::stream(app, p, ask).await?;
    Ok(Box::pin(
        ReceiverStream::new(batches).map(|batch| batch.map_err(Status::from)),
    ))
}
