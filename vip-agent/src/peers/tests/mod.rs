mod decision;
mod mirror;
mod receive;
mod wire;
