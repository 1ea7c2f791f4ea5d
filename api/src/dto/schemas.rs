//! OpenAPI schemas of declared inputs, built from core's bounds
//! (`sluice_core::upload::input`): no length, count or pattern is written here, so the
//! document says exactly what the parsers hold. Used by `/v1` and by Uppy's routes.

use sluice_core::upload::input::{
    ContentType, Filename, MAX_OBJECT_SIZE, Metadata, NO_NUL_PATTERN, ProfileName,
};
use utoipa::openapi::schema::{
    AdditionalProperties, AnyOfBuilder, ObjectBuilder, SchemaType, Type,
};
use utoipa::openapi::{Object, RefOr};

/// `schema` with `description` (a field built with `schema_with` loses its doc comment).
pub fn described(mut schema: Object, description: &str) -> Object {
    schema.description = Some(description.to_owned());
    schema
}

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

/// `profile`: 1 to 64 characters of a profile name; `default` when absent.
pub fn profile() -> Object {
    string()
        .min_length(Some(ProfileName::MIN_CHARS))
        .max_length(Some(ProfileName::MAX_CHARS))
        .pattern(Some(ProfileName::PATTERN))
        .default(Some(ProfileName::DEFAULT.into()))
        .build()
}

/// A file's name: 1 to 1024 characters.
pub fn filename() -> Object {
    filename_builder().build()
}

pub fn filename_builder() -> ObjectBuilder {
    string()
        .min_length(Some(Filename::MIN_CHARS))
        .max_length(Some(Filename::MAX_CHARS))
}

/// A declared size in bytes: 0 to 5 TiB.
pub fn size() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::Int64,
        )))
        .minimum(Some(0))
        .maximum(Some(MAX_OBJECT_SIZE))
        .build()
}

/// A declared content type, absent, `null` or empty allowed.
pub fn content_type() -> Object {
    content_type_builder()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .build()
}

/// A declared content type as a query parameter (absent or empty allowed).
pub fn content_type_text() -> Object {
    content_type_builder().build()
}

pub fn content_type_builder() -> ObjectBuilder {
    string()
        .max_length(Some(ContentType::MAX_CHARS))
        .pattern(Some(ContentType::PATTERN))
}

fn metadata_key() -> ObjectBuilder {
    string()
        .min_length(Some(Metadata::KEY_MIN_CHARS))
        .max_length(Some(Metadata::KEY_MAX_CHARS))
        .pattern(Some(NO_NUL_PATTERN))
}

fn metadata_value() -> ObjectBuilder {
    string()
        .max_length(Some(Metadata::VALUE_MAX_CHARS))
        .pattern(Some(NO_NUL_PATTERN))
}

/// `/v1` metadata: string pairs within `Metadata`'s bounds (`null` is none).
pub fn metadata() -> Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Object, Type::Null]))
        .max_properties(Some(Metadata::MAX_ENTRIES))
        .property_names(Some(metadata_key()))
        .additional_properties(Some(metadata_value()))
        .description(Some(format!(
            "Up to {} string pairs: keys of {} to {} characters, values up to {}, no NUL",
            Metadata::MAX_ENTRIES,
            Metadata::KEY_MIN_CHARS,
            Metadata::KEY_MAX_CHARS,
            Metadata::VALUE_MAX_CHARS
        )))
        .build()
}

/// Uppy's file metadata as `sluice_core::uppy::read_metadata` takes it: `Metadata`'s
/// bounds, numbers and booleans kept as text, nulls, objects and arrays dropped, and
/// `size` a whole number of bytes.
pub fn uppy_metadata() -> Object {
    let size = AnyOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0))
                .maximum(Some(MAX_OBJECT_SIZE)),
        )
        .item(string().pattern(Some("^ *[0-9]{1,13} *$")));
    let value = AnyOfBuilder::new()
        .item(metadata_value())
        .item(ObjectBuilder::new().schema_type(SchemaType::from_iter([
            Type::Number,
            Type::Boolean,
            Type::Null,
            Type::Object,
            Type::Array,
        ])));
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Object, Type::Null]))
        .max_properties(Some(Metadata::MAX_ENTRIES))
        .property_names(Some(metadata_key()))
        .property("size", size)
        .additional_properties(Some(AdditionalProperties::RefOr(RefOr::T(
            value.build().into(),
        ))))
        .description(Some(
            "Uppy's file metadata: up to 32 entries, keys of 1 to 64 characters; `size`, when sent, is the file's exact size",
        ))
        .build()
}
