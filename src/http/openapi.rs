//! Builds the router and its OpenAPI 3 document together, so every route
//! registered here is documented and no documented route is missing.

use std::collections::BTreeMap;

use axum::routing::MethodRouter;
use axum::Router;
use sea_orm::ColumnType;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ObjectBuilder, SchemaFormat, SchemaType, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathItem,
    PathsBuilder, Ref, RefOr, Required, ResponseBuilder, ResponsesBuilder, Schema,
};

use crate::state::AppState;

/// What the document says of one operation.
pub struct Operation {
    pub method: HttpMethod,
    /// The route as axum matches it; `{name}` and `{*name}` (the rest of the
    /// path, slashes included) are documented as path parameters.
    pub path: String,
    pub tag: String,
    pub summary: String,
    /// Needs `Authorization: Bearer …`.
    pub auth: bool,
    /// Query parameters (name, description).
    pub query: Vec<(&'static str, String)>,
    /// The request body, if any.
    pub body: Option<Body>,
    /// What a success looks like.
    pub answers: Answers,
    /// Error statuses beyond those every operation may answer (400, 404,
    /// 500; 401 and 403 with a token; 409, 413 and 422 with a body).
    pub errors: Vec<u16>,
    /// Schema components the body refers to (see [`Operation::json_schema`]).
    pub typed_schemas: Vec<(String, RefOr<Schema>)>,
}

/// A request body.
#[derive(Clone, Debug)]
pub enum Body {
    /// A JSON object: this schema component, or free-form.
    Json(Option<String>),
    /// A `multipart/form-data` form: (field, is a file) of each field.
    Multipart(Vec<(&'static str, bool)>),
}

/// The shape of an operation's successful answer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Answers {
    /// `200` with the envelope `{code: 0, msg, data}`.
    Envelope,
    /// `200` with a body of one of these media types (a file, a PNG, text).
    Content(&'static [&'static str]),
    /// WeChat Pay's notification protocol: `204`, or `{code: "FAIL", message}`.
    PayNotify,
}

impl Operation {
    /// An operation that needs a token, with no parameters or body.
    pub fn new(method: HttpMethod, path: &str, tag: &str, summary: &str) -> Self {
        Self {
            method,
            path: path.into(),
            tag: tag.into(),
            summary: summary.into(),
            auth: true,
            query: Vec::new(),
            body: None,
            answers: Answers::Envelope,
            errors: Vec::new(),
            typed_schemas: Vec::new(),
        }
    }

    pub fn public(mut self) -> Self {
        self.auth = false;
        self
    }

    pub fn json_body(mut self) -> Self {
        self.body = Some(Body::Json(None));
        self
    }

    /// A JSON body described by `T`'s schema (added to the components by
    /// [`Api::route`], with the schemas it refers to).
    pub fn json_schema<T: utoipa::ToSchema>(mut self) -> Self {
        let mut schemas = vec![(T::name().into_owned(), T::schema())];
        T::schemas(&mut schemas);
        self.body = Some(Body::Json(Some(T::name().into_owned())));
        self.typed_schemas = schemas;
        self
    }

    /// A multipart form with these fields: (name, is a file).
    pub fn multipart_body(mut self, fields: &[(&'static str, bool)]) -> Self {
        self.body = Some(Body::Multipart(fields.to_vec()));
        self
    }

    pub fn query(mut self, name: &'static str, description: &str) -> Self {
        self.query.push((name, description.into()));
        self
    }

    pub fn answers(mut self, answers: Answers) -> Self {
        self.answers = answers;
        self
    }

    /// Statuses this operation may answer besides the common ones.
    pub fn may_fail_with(mut self, statuses: &[u16]) -> Self {
        self.errors.extend_from_slice(statuses);
        self
    }

    /// Calls WeChat or WeChat Pay: 502 when they refuse or fail, 503 when
    /// they cannot be reached in time.
    pub fn calls_upstream(self) -> Self {
        self.may_fail_with(&[502, 503])
    }

    /// Every error status the operation may answer, sorted.
    fn error_statuses(&self) -> Vec<u16> {
        let mut statuses = vec![400, 404, 500];
        if self.auth {
            statuses.extend([401, 403]);
        }
        if self.body.is_some() {
            statuses.extend([409, 413, 422]);
        }
        statuses.extend(&self.errors);
        statuses.sort_unstable();
        statuses.dedup();
        statuses
    }
}

/// The path as the document writes it (`{*rest}` → `{rest}`), and its
/// parameters: (name, takes the rest of the path).
pub fn document_path(path: &str) -> (String, Vec<(String, bool)>) {
    let mut params = Vec::new();
    let segments: Vec<String> = path
        .split('/')
        .map(
            |segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => {
                    let (name, rest) = match name.strip_prefix('*') {
                        Some(name) => (name, true),
                        None => (name, false),
                    };
                    params.push((name.to_string(), rest));
                    format!("{{{name}}}")
                }
                None => segment.to_string(),
            },
        )
        .collect();
    (segments.join("/"), params)
}

fn status_description(status: u16) -> &'static str {
    match status {
        400 => "malformed request (query string, path, body or form), named in msg",
        401 => "missing or invalid token",
        403 => "not allowed for this admin",
        404 => "not found",
        405 => "method not allowed",
        409 => "conflicts with existing data",
        413 => "body too large",
        422 => "invalid fields, named in data.fields",
        429 => "too many attempts; Retry-After says when to try again",
        500 => "internal error (details in the server log)",
        502 => "WeChat or WeChat Pay refused or failed; data has errcode and errmsg when known",
        503 => "a dependency (database, WeChat) is unavailable; try again",
        _ => "error",
    }
}

pub struct Api {
    router: Router<AppState>,
    operations: Vec<Operation>,
    /// Component name → (column, type, nullable).
    schemas: BTreeMap<String, Vec<(String, ColumnType, bool)>>,
}

impl Default for Api {
    fn default() -> Self {
        Self {
            router: Router::new(),
            operations: Vec::new(),
            schemas: BTreeMap::new(),
        }
    }
}

impl Api {
    /// Adds one route with its documentation.
    pub fn route(mut self, operation: Operation, handler: MethodRouter<AppState>) -> Self {
        self.router = self.router.route(&operation.path, handler);
        self.operations.push(operation);
        self
    }

    /// Documents an operation served by a route added with [`Api::route`]
    /// (one route answers several methods).
    pub fn documented(mut self, operation: Operation) -> Self {
        self.operations.push(operation);
        self
    }

    /// Adds a schema component: (column, type, nullable) of each field.
    pub fn schema(mut self, name: String, columns: Vec<(String, ColumnType, bool)>) -> Self {
        self.schemas.insert(name, columns);
        self
    }

    pub fn merge(mut self, router: Router<AppState>, operations: Vec<Operation>) -> Self {
        self.router = self.router.merge(router);
        self.operations.extend(operations);
        self
    }

    pub fn into_parts(self) -> (Router<AppState>, OpenApi) {
        let document = self.document();
        (self.router, document)
    }

    fn document(&self) -> OpenApi {
        let mut paths = PathsBuilder::new();
        for operation in &self.operations {
            let (path, path_params) = document_path(&operation.path);
            let mut builder = OperationBuilder::new()
                .tag(operation.tag.clone())
                .summary(Some(operation.summary.clone()));
            for (name, rest) in path_params {
                let description = if rest {
                    "the rest of the path; may contain slashes"
                } else {
                    "one path segment"
                };
                builder = builder.parameter(
                    ParameterBuilder::new()
                        .name(name)
                        .parameter_in(ParameterIn::Path)
                        .required(Required::True)
                        .description(Some(description))
                        .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
                );
            }
            for (name, description) in &operation.query {
                builder = builder.parameter(
                    ParameterBuilder::new()
                        .name(*name)
                        .parameter_in(ParameterIn::Query)
                        .required(if *name == "id" {
                            Required::True
                        } else {
                            Required::False
                        })
                        .description(Some(description.clone()))
                        .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
                );
            }
            if let Some(body) = &operation.body {
                let (media_type, content) = match body {
                    Body::Json(Some(name)) => (
                        "application/json",
                        ContentBuilder::new().schema(Some(Ref::from_schema_name(name.clone()))),
                    ),
                    Body::Json(None) => (
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(ObjectBuilder::new().schema_type(Type::Object))),
                    ),
                    Body::Multipart(fields) => {
                        let mut form = ObjectBuilder::new().schema_type(Type::Object);
                        for (name, is_file) in fields {
                            let mut field = ObjectBuilder::new().schema_type(Type::String);
                            if *is_file {
                                field = field.content_media_type("application/octet-stream");
                            }
                            form = form.property(*name, field);
                        }
                        (
                            "multipart/form-data",
                            ContentBuilder::new().schema(Some(form)),
                        )
                    }
                };
                builder = builder.request_body(Some(
                    RequestBodyBuilder::new()
                        .content(media_type, content.build())
                        .required(Some(Required::True))
                        .build(),
                ));
            }
            builder = builder.responses(responses(operation));
            if operation.auth {
                builder =
                    builder.security(SecurityRequirement::new("bearer", Vec::<String>::new()));
            }
            paths = paths.path(
                path,
                PathItem::new(operation.method.clone(), builder.build()),
            );
        }

        let mut components = ComponentsBuilder::new()
            .security_scheme(
                "bearer",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("JWT")
                        .build(),
                ),
            )
            .schema(
                "Envelope",
                ObjectBuilder::new()
                    .schema_type(Type::Object)
                    .description(Some("a success: code 0, the result in data"))
                    .property("code", ObjectBuilder::new().schema_type(Type::Integer))
                    .property("msg", ObjectBuilder::new().schema_type(Type::String))
                    .property(
                        "data",
                        ObjectBuilder::new().schema_type(SchemaType::AnyValue),
                    )
                    .required("code")
                    .required("msg")
                    .required("data"),
            )
            .schema(
                "Error",
                ObjectBuilder::new()
                    .schema_type(Type::Object)
                    .description(Some(
                        "a refusal: code is the HTTP status, msg says what is wrong; data is null, \
                         or {fields, codes} on 422 (codes: field → {code, params}), or {errcode, \
                         errmsg} from WeChat on 502; error is {code, params}, a stable code for msg",
                    ))
                    .property("code", ObjectBuilder::new().schema_type(Type::Integer))
                    .property("msg", ObjectBuilder::new().schema_type(Type::String))
                    .property(
                        "data",
                        ObjectBuilder::new().schema_type(SchemaType::from_iter([
                            Type::Object,
                            Type::Null,
                        ])),
                    )
                    .property(
                        "error",
                        ObjectBuilder::new()
                            .schema_type(Type::Object)
                            .property("code", ObjectBuilder::new().schema_type(Type::String))
                            .property("params", ObjectBuilder::new().schema_type(Type::Object))
                            .required("code")
                            .required("params"),
                    )
                    .required("code")
                    .required("msg")
                    .required("data"),
            )
            .schema(
                "PayFail",
                ObjectBuilder::new()
                    .schema_type(Type::Object)
                    .description(Some("a refusal in the form WeChat Pay reads"))
                    .property(
                        "code",
                        ObjectBuilder::new()
                            .schema_type(Type::String)
                            .enum_values(Some(["FAIL"])),
                    )
                    .property("message", ObjectBuilder::new().schema_type(Type::String))
                    .required("code")
                    .required("message"),
            );
        for (name, columns) in &self.schemas {
            let mut object = ObjectBuilder::new().schema_type(Type::Object);
            for (column, column_type, nullable) in columns {
                object = object.property(
                    column.clone(),
                    column_schema(column, column_type, *nullable),
                );
            }
            components = components.schema(name.clone(), object);
        }
        for operation in &self.operations {
            for (name, schema) in &operation.typed_schemas {
                components = components.schema(name.clone(), schema.clone());
            }
        }

        OpenApiBuilder::new()
            .info(
                InfoBuilder::new()
                    .title("wxmp admin API")
                    .version(env!("CARGO_PKG_VERSION"))
                    .description(Some(
                        "Every response is {\"code\":0,\"msg\":\"ok\",\"data\":…} on success, or a non-2xx status \
                         with a non-zero code and a message. Snowflake ids are JSON strings.",
                    )),
            )
            .paths(paths.build())
            .components(Some(components.build()))
            .build()
    }
}

/// The documented answers of one operation: its success, and each error
/// status it may answer.
fn responses(operation: &Operation) -> utoipa::openapi::Responses {
    let json = |schema: &str| {
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name(schema)))
            .build()
    };
    let mut responses = ResponsesBuilder::new();
    let error_schema = match operation.answers {
        Answers::Envelope => {
            responses = responses.response(
                "200",
                ResponseBuilder::new()
                    .description("`code` 0 and the result in `data`")
                    .content("application/json", json("Envelope")),
            );
            "Error"
        }
        Answers::Content(media_types) => {
            let mut success = ResponseBuilder::new().description("the content");
            for media_type in media_types {
                success = success.content(*media_type, ContentBuilder::new().build());
            }
            responses = responses.response("200", success);
            "Error"
        }
        Answers::PayNotify => {
            responses = responses.response(
                "204",
                ResponseBuilder::new().description("handled (or already handled)"),
            );
            "PayFail"
        }
    };
    for status in operation.error_statuses() {
        responses = responses.response(
            status.to_string(),
            ResponseBuilder::new()
                .description(status_description(status))
                .content("application/json", json(error_schema)),
        );
    }
    responses.build()
}

fn column_schema(name: &str, column_type: &ColumnType, nullable: bool) -> ObjectBuilder {
    let is_id = name == "id"
        || name.ends_with("_id") && matches!(column_type, ColumnType::BigInteger)
        || name == "reply_to"
        || crate::ids::wechat_id::COLUMNS.contains(&name);
    let (kind, format) = match column_type {
        _ if is_id => (Type::String, Some("snowflake id (digits)")),
        ColumnType::BigInteger
        | ColumnType::Integer
        | ColumnType::SmallInteger
        | ColumnType::TinyInteger => (Type::Integer, None),
        ColumnType::Double | ColumnType::Float => (Type::Number, None),
        ColumnType::TimestampWithTimeZone | ColumnType::DateTime | ColumnType::Timestamp => {
            (Type::String, Some("date-time"))
        }
        ColumnType::Json | ColumnType::JsonBinary => (Type::Object, None),
        _ => (Type::String, None),
    };
    let schema_type = if nullable {
        SchemaType::from_iter([kind, Type::Null])
    } else {
        SchemaType::Type(kind)
    };
    let mut builder = ObjectBuilder::new().schema_type(schema_type);
    if let Some(format) = format {
        builder = builder.format(Some(SchemaFormat::Custom(format.into())));
    }
    builder
}
