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
    PathsBuilder, Ref, Required, ResponseBuilder, ResponsesBuilder,
};

use crate::state::AppState;

/// What the document says of one operation.
pub struct Operation {
    pub method: HttpMethod,
    pub path: String,
    pub tag: String,
    pub summary: String,
    /// Needs `Authorization: Bearer …`.
    pub auth: bool,
    /// Query parameters (name, description).
    pub query: Vec<(&'static str, String)>,
    /// JSON body schema: a component name, or `None` for a free-form object.
    pub body: Option<Option<String>>,
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
        }
    }

    pub fn public(mut self) -> Self {
        self.auth = false;
        self
    }

    pub fn json_body(mut self) -> Self {
        self.body = Some(None);
        self
    }

    pub fn query(mut self, name: &'static str, description: &str) -> Self {
        self.query.push((name, description.into()));
        self
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
            let mut builder = OperationBuilder::new()
                .tag(operation.tag.clone())
                .summary(Some(operation.summary.clone()));
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
            if let Some(schema) = &operation.body {
                let content = match schema {
                    Some(name) => {
                        ContentBuilder::new().schema(Some(Ref::from_schema_name(name.clone())))
                    }
                    None => ContentBuilder::new()
                        .schema(Some(ObjectBuilder::new().schema_type(Type::Object))),
                };
                builder = builder.request_body(Some(
                    RequestBodyBuilder::new()
                        .content("application/json", content.build())
                        .required(Some(Required::True))
                        .build(),
                ));
            }
            let envelope = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Envelope")))
                .build();
            let mut responses = ResponsesBuilder::new().response(
                "200",
                ResponseBuilder::new()
                    .description("`code` 0 and the result in `data`")
                    .content("application/json", envelope.clone()),
            );
            for (status, description) in [
                ("400", "malformed request"),
                ("401", "missing or invalid token"),
                ("403", "not allowed for this admin"),
                ("404", "not found"),
                ("409", "conflicts with existing data"),
                ("413", "body too large"),
                ("422", "invalid fields, named in data.fields"),
            ] {
                if !operation.auth && matches!(status, "401" | "403") {
                    continue;
                }
                responses = responses.response(
                    status,
                    ResponseBuilder::new()
                        .description(description)
                        .content("application/json", envelope.clone()),
                );
            }
            builder = builder.responses(responses.build());
            if operation.auth {
                builder =
                    builder.security(SecurityRequirement::new("bearer", Vec::<String>::new()));
            }
            paths = paths.path(
                operation.path.clone(),
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
                    .property("code", ObjectBuilder::new().schema_type(Type::Integer))
                    .property("msg", ObjectBuilder::new().schema_type(Type::String))
                    .property("data", ObjectBuilder::new())
                    .required("code")
                    .required("msg"),
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
