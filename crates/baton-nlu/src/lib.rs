//! Reading a customer's message: language, intent with a calibrated
//! confidence and an out-of-scope verdict, sentiment, customer-experience
//! cues and entities. Everything runs in process on a CPU, with no download.
