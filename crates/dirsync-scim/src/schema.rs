//! The schemas served (RFC 7643 §4, §8.7): the core User with the enterprise extension and
//! the core Group, limited to the attributes the directory keeps, as data that validation,
//! PATCH and the `/Schemas` documents all read.

use serde_json::{Value, json};

/// The core User schema.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The enterprise User extension.
pub const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// The core Group schema.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// A list response.
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// A PATCH request.
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// An attribute's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Type {
    String,
    Boolean,
    Complex,
}

/// Whether and when an attribute may be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Mutability {
    ReadWrite,
    ReadOnly,
    /// Taken and never kept nor returned (a password).
    WriteOnly,
}

/// One attribute of a schema.
#[derive(Debug, Clone, Copy)]
pub struct Attribute {
    /// Its name, as spelled in output.
    pub name: &'static str,
    /// Its type.
    pub kind: Type,
    /// Multi-valued.
    pub multi: bool,
    /// Required on create and replace.
    pub required: bool,
    /// Read-only attributes are ignored in input.
    pub mutability: Mutability,
    /// Sub-attributes of a complex attribute.
    pub sub: &'static [Attribute],
}

const fn attr(name: &'static str, kind: Type) -> Attribute {
    Attribute {
        name,
        kind,
        multi: false,
        required: false,
        mutability: Mutability::ReadWrite,
        sub: &[],
    }
}

const fn complex(name: &'static str, multi: bool, sub: &'static [Attribute]) -> Attribute {
    Attribute {
        name,
        kind: Type::Complex,
        multi,
        required: false,
        mutability: Mutability::ReadWrite,
        sub,
    }
}

const fn read_only(mut a: Attribute) -> Attribute {
    a.mutability = Mutability::ReadOnly;
    a
}

const fn write_only(mut a: Attribute) -> Attribute {
    a.mutability = Mutability::WriteOnly;
    a
}

const fn required(mut a: Attribute) -> Attribute {
    a.required = true;
    a
}

const MULTI_VALUE: &[Attribute] = &[
    attr("value", Type::String),
    attr("type", Type::String),
    attr("primary", Type::Boolean),
    attr("display", Type::String),
];

/// The core User attributes served.
pub const USER_ATTRIBUTES: &[Attribute] = &[
    required(attr("userName", Type::String)),
    complex(
        "name",
        false,
        &[
            attr("formatted", Type::String),
            attr("familyName", Type::String),
            attr("givenName", Type::String),
            attr("middleName", Type::String),
            attr("honorificPrefix", Type::String),
            attr("honorificSuffix", Type::String),
        ],
    ),
    attr("displayName", Type::String),
    attr("nickName", Type::String),
    attr("title", Type::String),
    attr("userType", Type::String),
    attr("preferredLanguage", Type::String),
    attr("locale", Type::String),
    attr("timezone", Type::String),
    attr("active", Type::Boolean),
    write_only(attr("password", Type::String)),
    complex("emails", true, MULTI_VALUE),
    complex("phoneNumbers", true, MULTI_VALUE),
    complex(
        "addresses",
        true,
        &[
            attr("formatted", Type::String),
            attr("streetAddress", Type::String),
            attr("locality", Type::String),
            attr("region", Type::String),
            attr("postalCode", Type::String),
            attr("country", Type::String),
            attr("type", Type::String),
            attr("primary", Type::Boolean),
        ],
    ),
    complex("entitlements", true, MULTI_VALUE),
    complex("roles", true, MULTI_VALUE),
    read_only(complex(
        "groups",
        true,
        &[
            attr("value", Type::String),
            attr("display", Type::String),
            attr("type", Type::String),
        ],
    )),
];

/// The enterprise extension's attributes served.
pub const ENTERPRISE_ATTRIBUTES: &[Attribute] = &[
    attr("employeeNumber", Type::String),
    attr("costCenter", Type::String),
    attr("organization", Type::String),
    attr("division", Type::String),
    attr("department", Type::String),
    complex(
        "manager",
        false,
        &[
            attr("value", Type::String),
            read_only(attr("displayName", Type::String)),
        ],
    ),
];

/// The core Group attributes served.
pub const GROUP_ATTRIBUTES: &[Attribute] = &[
    required(attr("displayName", Type::String)),
    complex(
        "members",
        true,
        &[
            attr("value", Type::String),
            read_only(attr("display", Type::String)),
            read_only(attr("type", Type::String)),
        ],
    ),
];

/// A resource type served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceType {
    /// `/Users`.
    User,
    /// `/Groups`.
    Group,
}

impl ResourceType {
    /// Its name (`User`).
    pub fn name(self) -> &'static str {
        match self {
            Self::User => "User",
            Self::Group => "Group",
        }
    }

    /// Its endpoint (`/Users`).
    pub fn endpoint(self) -> &'static str {
        match self {
            Self::User => "/Users",
            Self::Group => "/Groups",
        }
    }

    /// Its core schema.
    pub fn schema(self) -> &'static str {
        match self {
            Self::User => USER_SCHEMA,
            Self::Group => GROUP_SCHEMA,
        }
    }

    /// Its core attributes.
    pub fn attributes(self) -> &'static [Attribute] {
        match self {
            Self::User => USER_ATTRIBUTES,
            Self::Group => GROUP_ATTRIBUTES,
        }
    }

    /// Its extensions: (URN, attributes).
    pub fn extensions(self) -> &'static [(&'static str, &'static [Attribute])] {
        match self {
            Self::User => &[(ENTERPRISE_SCHEMA, ENTERPRISE_ATTRIBUTES)],
            Self::Group => &[],
        }
    }
}

/// Finds `name` (ignoring case) among `attributes`.
pub fn find(attributes: &'static [Attribute], name: &str) -> Option<&'static Attribute> {
    attributes
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case(name))
}

fn attribute_json(a: &Attribute) -> Value {
    let kind = match a.kind {
        Type::String => "string",
        Type::Boolean => "boolean",
        Type::Complex => "complex",
    };
    let mut doc = json!({
        "name": a.name,
        "type": kind,
        "multiValued": a.multi,
        "description": a.name,
        "required": a.required,
        "caseExact": false,
        "mutability": match a.mutability {
            Mutability::ReadWrite => "readWrite",
            Mutability::ReadOnly => "readOnly",
            Mutability::WriteOnly => "writeOnly",
        },
        "returned": if a.mutability == Mutability::WriteOnly { "never" } else { "default" },
        "uniqueness": if a.name == "userName" { "server" } else { "none" },
    });
    if !a.sub.is_empty()
        && let Value::Object(map) = &mut doc
    {
        map.insert(
            "subAttributes".to_owned(),
            Value::Array(a.sub.iter().map(attribute_json).collect()),
        );
    }
    doc
}

fn schema_json(id: &str, name: &str, attributes: &[Attribute], base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": id,
        "name": name,
        "description": name,
        "attributes": attributes.iter().map(attribute_json).collect::<Vec<_>>(),
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{id}")},
    })
}

/// The `/Schemas` documents, each with its `meta.location` under `base`.
pub fn schemas(base: &str) -> Vec<Value> {
    vec![
        schema_json(USER_SCHEMA, "User", USER_ATTRIBUTES, base),
        schema_json(
            ENTERPRISE_SCHEMA,
            "EnterpriseUser",
            ENTERPRISE_ATTRIBUTES,
            base,
        ),
        schema_json(GROUP_SCHEMA, "Group", GROUP_ATTRIBUTES, base),
    ]
}

/// The `/ResourceTypes` documents.
pub fn resource_types(base: &str) -> Vec<Value> {
    [ResourceType::User, ResourceType::Group]
        .into_iter()
        .map(|t| {
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
                "id": t.name(),
                "name": t.name(),
                "endpoint": t.endpoint(),
                "description": t.name(),
                "schema": t.schema(),
                "schemaExtensions": t.extensions().iter()
                    .map(|(urn, _)| json!({"schema": urn, "required": false}))
                    .collect::<Vec<_>>(),
                "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/{}", t.name())},
            })
        })
        .collect()
}

/// The `/ServiceProviderConfig` document: PATCH, filters up to `max_results`, ETags; no bulk,
/// no password change, no sort.
pub fn service_provider_config(base: &str, max_results: usize, max_payload: usize) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://github.com/directory-sync/directory-sync",
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": max_payload},
        "filter": {"supported": true, "maxResults": max_results},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "The integration's own token (dirsync integration:rotate-token)",
            "primary": true,
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig")},
    })
}
