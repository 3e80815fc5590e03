//! minicbor codecs for foreign types used in events (`with = "crate::cbor::..."`).

pub mod principal {
    use ic_principal::Principal;
    use minicbor::{
        decode::Error as DecodeError, encode::Error as EncodeError, encode::Write, Decoder, Encoder,
    };

    pub fn encode<C, W: Write>(
        v: &Principal,
        e: &mut Encoder<W>,
        _ctx: &mut C,
    ) -> Result<(), EncodeError<W::Error>> {
        e.bytes(v.as_slice())?;
        Ok(())
    }

    pub fn decode<C>(d: &mut Decoder<'_>, _ctx: &mut C) -> Result<Principal, DecodeError> {
        let bytes = d.bytes()?;
        Principal::try_from_slice(bytes).map_err(|_| DecodeError::message("invalid principal"))
    }
}

pub mod principals {
    use ic_principal::Principal;
    use minicbor::{
        decode::Error as DecodeError, encode::Error as EncodeError, encode::Write, Decoder, Encoder,
    };

    pub fn encode<C, W: Write>(
        v: &[Principal],
        e: &mut Encoder<W>,
        _ctx: &mut C,
    ) -> Result<(), EncodeError<W::Error>> {
        e.array(v.len() as u64)?;
        for p in v {
            e.bytes(p.as_slice())?;
        }
        Ok(())
    }

    pub fn decode<C>(d: &mut Decoder<'_>, _ctx: &mut C) -> Result<Vec<Principal>, DecodeError> {
        let n = d
            .array()?
            .ok_or_else(|| DecodeError::message("indefinite array"))?;
        let mut out = Vec::with_capacity(n.min(64) as usize);
        for _ in 0..n {
            let bytes = d.bytes()?;
            out.push(
                Principal::try_from_slice(bytes)
                    .map_err(|_| DecodeError::message("invalid principal"))?,
            );
        }
        Ok(out)
    }
}

/// An optional principal: CBOR null or the principal's bytes.
pub mod principal_opt {
    use ic_principal::Principal;
    use minicbor::{
        data::Type, decode::Error as DecodeError, encode::Error as EncodeError, encode::Write,
        Decoder, Encoder,
    };

    pub fn encode<C, W: Write>(
        v: &Option<Principal>,
        e: &mut Encoder<W>,
        _ctx: &mut C,
    ) -> Result<(), EncodeError<W::Error>> {
        match v {
            Some(p) => e.bytes(p.as_slice())?,
            None => e.null()?,
        };
        Ok(())
    }

    pub fn decode<C>(d: &mut Decoder<'_>, _ctx: &mut C) -> Result<Option<Principal>, DecodeError> {
        if d.datatype()? == Type::Null {
            d.skip()?;
            return Ok(None);
        }
        let bytes = d.bytes()?;
        Principal::try_from_slice(bytes)
            .map(Some)
            .map_err(|_| DecodeError::message("invalid principal"))
    }
}
