enum Color { Red, G. export const v = 1; }lor`{ Red .G, export const v = 1; }
, 
, NS.v];
