//! postcard, keeping the text of a type's own serde errors.
//!
//! postcard's `Error::custom` drops its message ("Serde Deserialization Error" replaces
//! "odd value 3"). So every value, at every depth, is (de)serialized here through a proxy
//! ([`Ser`], [`De`] and their companions) whose error type, [`Kept`], keeps the text of a
//! `custom` error (and of serde's own `invalid_type`, `missing_field`, ..., which are built
//! with `custom`). The text itself waits in a thread-local, so it survives where the error
//! has to pass through postcard's own error type (a value nested in one of postcard's
//! sequences) and is picked up again where postcard hands the error back. Bytes are exactly
//! postcard's.

use std::cell::RefCell;
use std::fmt::{self, Display};

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, Visitor};
use serde::ser::{self, Serialize, Serializer};

thread_local! {
    /// The text of a custom error on its way through postcard's error type.
    static TEXT: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Appends `value`'s postcard encoding to `out`; the error keeps the type's own text.
pub(crate) fn encode<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<(), String> {
    use postcard::ser_flavors::Flavor;
    let mut serializer = postcard::Serializer {
        output: postcard::ser_flavors::io::WriteFlavor::new(out),
    };
    through_proxy(|| value.serialize(Ser(&mut serializer)))?;
    serializer
        .output
        .finalize()
        .map(drop)
        .map_err(|e| e.to_string())
}

/// Decodes a `T` from postcard bytes; the error keeps the type's own text.
pub(crate) fn decode<'de, T: Deserialize<'de>>(bytes: &'de [u8]) -> Result<T, String> {
    let mut deserializer = postcard::Deserializer::from_bytes(bytes);
    through_proxy(|| T::deserialize(De(&mut deserializer)))
}

/// Runs one (de)serialization through the proxy and gives its error's text: [`TEXT`] starts
/// empty, so no earlier call's text is taken for this one's, and is left empty.
fn through_proxy<R, E: Display>(run: impl FnOnce() -> Result<R, Kept<E>>) -> Result<R, String> {
    TEXT.with(|t| t.borrow_mut().take());
    let result = run().map_err(text);
    TEXT.with(|t| t.borrow_mut().take());
    result
}

fn text<E: Display>(error: Kept<E>) -> String {
    match error {
        Kept::Custom => TEXT.with(|t| t.borrow_mut().take()).unwrap_or_default(),
        Kept::Inner(e) => e.to_string(),
    }
}

/// An error inside the proxy: the wrapped (de)serializer's own, or a custom one, whose text
/// is in [`TEXT`] (not here: this error is a `Result` on every value's hot path, so it must
/// stay as small as the wrapped one; measured, a `String` here doubled decoding time).
#[derive(Debug)]
pub(crate) enum Kept<E> {
    Inner(E),
    Custom,
}

impl<E: Display> Display for Kept<E> {
    #[inline]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kept::Inner(e) => e.fmt(f),
            Kept::Custom => TEXT.with(|t| f.write_str(t.borrow().as_deref().unwrap_or_default())),
        }
    }
}

impl<E: std::error::Error> std::error::Error for Kept<E> {}

impl<E: ser::Error> ser::Error for Kept<E> {
    #[inline]
    fn custom<T: Display>(msg: T) -> Self {
        keep(msg)
    }
}

impl<E: de::Error> de::Error for Kept<E> {
    #[inline]
    fn custom<T: Display>(msg: T) -> Self {
        keep(msg)
    }
}

fn keep<E>(msg: impl Display) -> Kept<E> {
    TEXT.with(|t| *t.borrow_mut() = Some(msg.to_string()));
    Kept::Custom
}

/// An error leaving the proxy as the wrapped (de)serializer's (its text stays in [`TEXT`]
/// for [`back`]).
#[inline]
fn escape<E>(error: Kept<E>, custom: impl FnOnce(&str) -> E) -> E {
    match error {
        Kept::Inner(e) => e,
        Kept::Custom => custom(""),
    }
}

/// An error coming back into the proxy from the wrapped (de)serializer.
#[inline]
fn back<E>(error: E) -> Kept<E> {
    if TEXT.with(|t| t.borrow().is_some()) {
        Kept::Custom
    } else {
        Kept::Inner(error)
    }
}

/// The serializer proxy.
pub(crate) struct Ser<S>(S);

/// A value serialized through the proxy by a serializer that is not one.
struct Wrap<'a, T: ?Sized>(&'a T);

impl<T: ?Sized + Serialize> Serialize for Wrap<'_, T> {
    #[inline]
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0
            .serialize(Ser(serializer))
            .map_err(|e| escape(e, |t| <S::Error as ser::Error>::custom(t)))
    }
}

macro_rules! forward_serialize {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {$(
        #[inline]
        fn $method(self, $($arg: $ty),*) -> Result<S::Ok, Self::Error> {
            self.0.$method($($arg),*).map_err(back)
        }
    )*};
}

impl<S: Serializer> Serializer for Ser<S> {
    type Ok = S::Ok;
    type Error = Kept<S::Error>;
    type SerializeSeq = Compound<S::SerializeSeq>;
    type SerializeTuple = Compound<S::SerializeTuple>;
    type SerializeTupleStruct = Compound<S::SerializeTupleStruct>;
    type SerializeTupleVariant = Compound<S::SerializeTupleVariant>;
    type SerializeMap = Compound<S::SerializeMap>;
    type SerializeStruct = Compound<S::SerializeStruct>;
    type SerializeStructVariant = Compound<S::SerializeStructVariant>;

    forward_serialize! {
        serialize_bool(v: bool);
        serialize_i8(v: i8);
        serialize_i16(v: i16);
        serialize_i32(v: i32);
        serialize_i64(v: i64);
        serialize_i128(v: i128);
        serialize_u8(v: u8);
        serialize_u16(v: u16);
        serialize_u32(v: u32);
        serialize_u64(v: u64);
        serialize_u128(v: u128);
        serialize_f32(v: f32);
        serialize_f64(v: f64);
        serialize_char(v: char);
        serialize_str(v: &str);
        serialize_bytes(v: &[u8]);
        serialize_none();
        serialize_unit();
        serialize_unit_struct(name: &'static str);
        serialize_unit_variant(name: &'static str, index: u32, variant: &'static str);
    }

    #[inline]
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<S::Ok, Self::Error> {
        self.0.serialize_some(&Wrap(value)).map_err(back)
    }

    #[inline]
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<S::Ok, Self::Error> {
        self.0
            .serialize_newtype_struct(name, &Wrap(value))
            .map_err(back)
    }

    #[inline]
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<S::Ok, Self::Error> {
        self.0
            .serialize_newtype_variant(name, index, variant, &Wrap(value))
            .map_err(back)
    }

    #[inline]
    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, Self::Error> {
        self.0.serialize_seq(len).map(Compound).map_err(back)
    }

    #[inline]
    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, Self::Error> {
        self.0.serialize_tuple(len).map(Compound).map_err(back)
    }

    #[inline]
    fn serialize_tuple_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, Self::Error> {
        self.0
            .serialize_tuple_struct(name, len)
            .map(Compound)
            .map_err(back)
    }

    #[inline]
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, Self::Error> {
        self.0
            .serialize_tuple_variant(name, index, variant, len)
            .map(Compound)
            .map_err(back)
    }

    #[inline]
    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, Self::Error> {
        self.0.serialize_map(len).map(Compound).map_err(back)
    }

    #[inline]
    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, Self::Error> {
        self.0
            .serialize_struct(name, len)
            .map(Compound)
            .map_err(back)
    }

    #[inline]
    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, Self::Error> {
        self.0
            .serialize_struct_variant(name, index, variant, len)
            .map(Compound)
            .map_err(back)
    }

    #[inline]
    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

/// A compound serializer of the proxy.
pub(crate) struct Compound<C>(C);

macro_rules! compound {
    ($trait:ident, $($method:ident($($key:ident: $kty:ty),*)),*) => {
        impl<C: ser::$trait> ser::$trait for Compound<C> {
            type Ok = C::Ok;
            type Error = Kept<C::Error>;
            $(
                #[inline]
                fn $method<T: ?Sized + Serialize>(
                    &mut self,
                    $($key: $kty,)*
                    value: &T,
                ) -> Result<(), Self::Error> {
                    self.0.$method($($key,)* &Wrap(value)).map_err(back)
                }
            )*
            #[inline]
            fn end(self) -> Result<C::Ok, Self::Error> {
                self.0.end().map_err(back)
            }
        }
    };
}

compound!(SerializeSeq, serialize_element());
compound!(SerializeTuple, serialize_element());
compound!(SerializeTupleStruct, serialize_field());
compound!(SerializeTupleVariant, serialize_field());
compound!(SerializeStruct, serialize_field(key: &'static str));
compound!(SerializeStructVariant, serialize_field(key: &'static str));

impl<C: ser::SerializeMap> ser::SerializeMap for Compound<C> {
    type Ok = C::Ok;
    type Error = Kept<C::Error>;

    #[inline]
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), Self::Error> {
        self.0.serialize_key(&Wrap(key)).map_err(back)
    }

    #[inline]
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Self::Error> {
        self.0.serialize_value(&Wrap(value)).map_err(back)
    }

    #[inline]
    fn end(self) -> Result<C::Ok, Self::Error> {
        self.0.end().map_err(back)
    }
}

/// The deserializer proxy.
pub(crate) struct De<D>(D);

macro_rules! forward_deserialize {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {$(
        #[inline]
        fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V)
            -> Result<V::Value, Self::Error>
        {
            self.0.$method($($arg,)* Vis(visitor)).map_err(back)
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for De<D> {
    type Error = Kept<D::Error>;

    forward_deserialize! {
        deserialize_any();
        deserialize_bool();
        deserialize_i8();
        deserialize_i16();
        deserialize_i32();
        deserialize_i64();
        deserialize_i128();
        deserialize_u8();
        deserialize_u16();
        deserialize_u32();
        deserialize_u64();
        deserialize_u128();
        deserialize_f32();
        deserialize_f64();
        deserialize_char();
        deserialize_str();
        deserialize_string();
        deserialize_bytes();
        deserialize_byte_buf();
        deserialize_option();
        deserialize_unit();
        deserialize_unit_struct(name: &'static str);
        deserialize_newtype_struct(name: &'static str);
        deserialize_seq();
        deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_map();
        deserialize_struct(name: &'static str, fields: &'static [&'static str]);
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
        deserialize_identifier();
        deserialize_ignored_any();
    }

    #[inline]
    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

/// A visitor called by a deserializer that is not the proxy: what it is handed goes
/// through the proxy.
struct Vis<V>(V);

macro_rules! forward_visit {
    ($($method:ident($ty:ty);)*) => {$(
        #[inline]
        fn $method<E: de::Error>(self, v: $ty) -> Result<V::Value, E> {
            self.0.$method::<Kept<E>>(v).map_err(|e| escape(e, |t| E::custom(t)))
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Vis<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }

    forward_visit! {
        visit_bool(bool);
        visit_i8(i8);
        visit_i16(i16);
        visit_i32(i32);
        visit_i64(i64);
        visit_i128(i128);
        visit_u8(u8);
        visit_u16(u16);
        visit_u32(u32);
        visit_u64(u64);
        visit_u128(u128);
        visit_f32(f32);
        visit_f64(f64);
        visit_char(char);
        visit_str(&str);
        visit_borrowed_str(&'de str);
        visit_string(String);
        visit_bytes(&[u8]);
        visit_borrowed_bytes(&'de [u8]);
        visit_byte_buf(Vec<u8>);
    }

    #[inline]
    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.0
            .visit_none::<Kept<E>>()
            .map_err(|e| escape(e, |t| E::custom(t)))
    }

    #[inline]
    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.0
            .visit_unit::<Kept<E>>()
            .map_err(|e| escape(e, |t| E::custom(t)))
    }

    #[inline]
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        self.0
            .visit_some(De(deserializer))
            .map_err(|e| escape(e, |t| <D::Error as de::Error>::custom(t)))
    }

    #[inline]
    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<V::Value, D::Error> {
        self.0
            .visit_newtype_struct(De(deserializer))
            .map_err(|e| escape(e, |t| <D::Error as de::Error>::custom(t)))
    }

    #[inline]
    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.0
            .visit_seq(Access(seq))
            .map_err(|e| escape(e, |t| <A::Error as de::Error>::custom(t)))
    }

    #[inline]
    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.0
            .visit_map(Access(map))
            .map_err(|e| escape(e, |t| <A::Error as de::Error>::custom(t)))
    }

    #[inline]
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.0
            .visit_enum(Access(data))
            .map_err(|e| escape(e, |t| <A::Error as de::Error>::custom(t)))
    }
}

/// A seed deserialized through the proxy by a deserializer that is not one.
struct Seed<T>(T);

impl<'de, T: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<T> {
    type Value = T::Value;

    #[inline]
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<T::Value, D::Error> {
        self.0
            .deserialize(De(deserializer))
            .map_err(|e| escape(e, |t| <D::Error as de::Error>::custom(t)))
    }
}

/// Sequence, map, enum and variant access of the proxy.
struct Access<A>(A);

impl<'de, A: de::SeqAccess<'de>> de::SeqAccess<'de> for Access<A> {
    type Error = Kept<A::Error>;

    #[inline]
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Self::Error> {
        self.0.next_element_seed(Seed(seed)).map_err(back)
    }

    #[inline]
    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: de::MapAccess<'de>> de::MapAccess<'de> for Access<A> {
    type Error = Kept<A::Error>;

    #[inline]
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        self.0.next_key_seed(Seed(seed)).map_err(back)
    }

    #[inline]
    fn next_value_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<T::Value, Self::Error> {
        self.0.next_value_seed(Seed(seed)).map_err(back)
    }

    #[inline]
    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: de::EnumAccess<'de>> de::EnumAccess<'de> for Access<A> {
    type Error = Kept<A::Error>;
    type Variant = Access<A::Variant>;

    #[inline]
    fn variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<(T::Value, Self::Variant), Self::Error> {
        self.0
            .variant_seed(Seed(seed))
            .map(|(value, variant)| (value, Access(variant)))
            .map_err(back)
    }
}

impl<'de, A: de::VariantAccess<'de>> de::VariantAccess<'de> for Access<A> {
    type Error = Kept<A::Error>;

    #[inline]
    fn unit_variant(self) -> Result<(), Self::Error> {
        self.0.unit_variant().map_err(back)
    }

    #[inline]
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, Self::Error> {
        self.0.newtype_variant_seed(Seed(seed)).map_err(back)
    }

    #[inline]
    fn tuple_variant<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.tuple_variant(len, Vis(visitor)).map_err(back)
    }

    #[inline]
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.struct_variant(fields, Vis(visitor)).map_err(back)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Serialize};

    use super::*;

    /// Serialises as a `u32`; refuses to serialise or deserialise an odd one, in its own words.
    #[derive(Debug, Clone, PartialEq)]
    struct Even(u32);

    impl Serialize for Even {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            if self.0 % 2 == 1 {
                return Err(ser::Error::custom(format!("my text: {} is odd", self.0)));
            }
            s.serialize_u32(self.0)
        }
    }

    impl<'de> Deserialize<'de> for Even {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let n = u32::deserialize(d)?;
            if n % 2 == 1 {
                return Err(de::Error::custom(format!("my text: {n} is odd")));
            }
            Ok(Even(n))
        }
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    enum Shape {
        Unit,
        Newtype(Even),
        Tuple(u8, Even),
        Struct { inner: Vec<Option<Even>> },
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Nested {
        name: String,
        shapes: Vec<Shape>,
        map: BTreeMap<String, (Even, f64)>,
        bytes: Vec<u8>,
    }

    fn nested(n: u32) -> Nested {
        Nested {
            name: "n".into(),
            shapes: vec![
                Shape::Unit,
                Shape::Newtype(Even(2)),
                Shape::Tuple(1, Even(4)),
                Shape::Struct {
                    inner: vec![None, Some(Even(n))],
                },
            ],
            map: [("k".to_string(), (Even(6), 1.5))].into(),
            bytes: vec![1, 2, 3],
        }
    }

    #[test]
    fn the_proxy_writes_and_reads_exactly_postcards_bytes() {
        let value = nested(8);
        let mut ours = Vec::new();
        encode(&value, &mut ours).unwrap();
        assert_eq!(ours, postcard::to_allocvec(&value).unwrap());
        assert_eq!(decode::<Nested>(&ours).unwrap(), value);
    }

    #[test]
    fn a_custom_serialisation_error_keeps_its_text_at_any_depth() {
        let mut out = Vec::new();
        assert_eq!(encode(&Even(3), &mut out).unwrap_err(), "my text: 3 is odd");
        assert_eq!(
            encode(&nested(5), &mut out).unwrap_err(),
            "my text: 5 is odd"
        );
    }

    #[test]
    fn a_custom_deserialisation_error_keeps_its_text_at_any_depth() {
        let odd = postcard::to_allocvec(&3u32).unwrap();
        assert_eq!(decode::<Even>(&odd).unwrap_err(), "my text: 3 is odd");
        // Built with an even value, then the odd one patched in: the last byte is its varint.
        let mut bytes = postcard::to_allocvec(&nested(8)).unwrap();
        let at = bytes.iter().rposition(|&b| b == 8).unwrap();
        bytes[at] = 7;
        assert_eq!(decode::<Nested>(&bytes).unwrap_err(), "my text: 7 is odd");
    }

    #[test]
    fn postcards_own_errors_and_serdes_keep_their_texts() {
        assert!(decode::<u32>(&[]).unwrap_err().contains("end of buffer"));
        let err = decode::<Shape>(&[9]).unwrap_err();
        assert!(err.contains("integer `9`, expected variant index"), "{err}");
        // A custom error's text does not outlive its call.
        let odd = postcard::to_allocvec(&3u32).unwrap();
        assert!(decode::<Even>(&odd).is_err());
        assert!(decode::<u32>(&[]).unwrap_err().contains("end of buffer"));
    }
}
